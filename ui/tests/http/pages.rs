//! The pages: login (with throttling), permission checks on every route, CSRF on forms,
//! field errors shown next to their fields, and the hall plan drawn as SVG.

use crate::helpers::{anonymous, apps, csrf, TestApp};
use parterre_core::Money;

/// Every page: path, permission it needs.
const PAGES: &[(&str, &str)] = &[
    ("/admin/shows", "catalog.read"),
    ("/admin/shows/new", "catalog.edit"),
    ("/admin/shows/1/edit", "catalog.edit"),
    ("/admin/performances", "catalog.read"),
    ("/admin/performances/new", "catalog.edit"),
    ("/admin/performances/1/edit", "catalog.edit"),
    ("/admin/performances/1/plan", "catalog.read"),
    ("/admin/prices", "catalog.read"),
    ("/admin/halls", "catalog.read"),
    ("/admin/users", "admin.users"),
    ("/admin/users/1/edit", "admin.users"),
    ("/admin/roles", "admin.users"),
    ("/admin/roles/new", "admin.users"),
    ("/admin/roles/1/edit", "admin.users"),
    ("/admin/audit", "admin.users"),
    ("/box-office", "sales.sell"),
    ("/crm", "crm.read"),
    ("/segments", "crm.read"),
    ("/reports", "warehouse.query"),
    ("/dashboards", "warehouse.query"),
    ("/accounting", "accounting.read"),
    ("/groups", "sales.sell"),
    ("/scan", "sales.sell"),
    ("/box-office/performances/1", "sales.sell"),
];

/// Pages about a cart or an order: refused without the permission (their objects need a sale).
const SALE_PAGES: &[(&str, &str)] = &[
    ("/box-office/carts/1", "sales.sell"),
    ("/box-office/orders/1", "sales.sell"),
    ("/box-office/orders/1/tickets.pdf", "sales.sell"),
];

/// Every form target: path, permission it needs.
const FORMS: &[(&str, &str)] = &[
    ("/admin/shows", "catalog.edit"),
    ("/admin/shows/1", "catalog.edit"),
    ("/admin/shows/1/duplicate", "catalog.edit"),
    ("/admin/performances", "catalog.edit"),
    ("/admin/performances/1", "catalog.edit"),
    ("/admin/prices", "catalog.edit"),
    ("/admin/seasons/1/carry-over", "catalog.edit"),
    ("/admin/price-categories", "catalog.edit"),
    ("/box-office/performances/1/party", "sales.sell"),
    ("/box-office/performances/1/seats", "sales.sell"),
    ("/box-office/carts/1/items/1/delete", "sales.sell"),
    ("/box-office/carts/1/promo", "sales.sell"),
    ("/box-office/carts/1/checkout", "sales.sell"),
    ("/admin/products", "catalog.edit"),
    ("/admin/users", "admin.users"),
    ("/admin/users/1", "admin.users"),
    ("/admin/users/1/tokens/1/revoke", "admin.users"),
    ("/admin/roles", "admin.users"),
    ("/admin/roles/1", "admin.users"),
];

#[tokio::test]
async fn every_page_and_form_checks_its_permission() {
    for db in apps().await {
        let app = TestApp::spawn(db).await;
        app.user_with("nobody", &[]).await;
        let nobody = app.browser("nobody", "motdepasse").await;
        let admin = app.browser("admin", &app.admin_password).await;
        let token = csrf(&nobody, &app.url("/")).await;
        for (path, perm) in PAGES {
            let r = anonymous().get(app.url(path)).send().await.unwrap();
            assert_eq!(r.status(), 303, "{path} without session");
            assert!(r.headers()["location"].to_str().unwrap().starts_with("/login?next="), "{path}");
            let r = nobody.get(app.url(path)).send().await.unwrap();
            assert_eq!(r.status(), 403, "{path} without {perm}");
            assert!(r.text().await.unwrap().contains(perm));
            let r = admin.get(app.url(path)).send().await.unwrap();
            assert_eq!(r.status(), 200, "{path} as admin");
        }
        for (path, perm) in SALE_PAGES {
            assert_eq!(
                anonymous().get(app.url(path)).send().await.unwrap().status(),
                303,
                "{path} without session"
            );
            assert_eq!(
                nobody.get(app.url(path)).send().await.unwrap().status(),
                403,
                "{path} without {perm}"
            );
        }
        for (path, perm) in FORMS {
            let r = nobody.post(app.url(path)).form(&[("csrf", token.as_str())]).send().await.unwrap();
            assert_eq!(r.status(), 403, "POST {path} without {perm}");
        }
        // Navigation shows only what the user may open.
        let home = nobody.get(app.url("/")).send().await.unwrap().text().await.unwrap();
        assert!(!home.contains("href=\"/admin/users\""));
        let home = admin.get(app.url("/")).send().await.unwrap().text().await.unwrap();
        for label in [
            "Billetterie",
            "Programmation",
            "Publics",
            "Comptabilité",
            "Administration",
            "Aller au contenu",
        ] {
            assert!(home.contains(label), "home lacks {label}");
        }
        app.stop().await;
    }
}

#[tokio::test]
async fn wrong_passwords_are_refused_then_throttled_and_audited() {
    for db in apps().await {
        let app = TestApp::spawn(db).await;
        let c = anonymous();
        let r = app.post_login(&c, &[("login", "admin"), ("password", "faux")]).await;
        assert_eq!(r.status(), 401);
        assert!(r.text().await.unwrap().contains("Identifiant ou mot de passe incorrect"));
        for _ in 0..3 {
            app.post_login(&c, &[("login", "admin"), ("password", "faux")]).await;
        }
        let r = app
            .post_login(&c, &[("login", "admin"), ("password", app.admin_password.as_str())])
            .await;
        assert_eq!(r.status(), 429, "even the right password waits after repeated failures");
        assert!(r.text().await.unwrap().contains("réessayez dans"));
        let failed = parterre_core::auth::audit::recent(&app.store, Some("user"), 100).await.unwrap();
        assert!(failed.iter().filter(|e| e.action == "login.failed").count() >= 3);
        // Open redirects are refused: `next` must be a local path.
        let b = anonymous();
        let r = app
            .post_login(&b, &[("login", "admin2"), ("password", "x"), ("next", "https://evil.example")])
            .await;
        assert_eq!(r.status(), 401);
        app.stop().await;
    }
}

#[tokio::test]
async fn forms_need_the_csrf_token_and_show_errors_next_to_fields() {
    for db in apps().await {
        let app = TestApp::spawn(db).await;
        let admin = app.browser("admin", &app.admin_password).await;
        let r = admin
            .post(app.url("/admin/shows"))
            .form(&[("name", "Sans jeton")])
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 403, "a form without CSRF token is refused");
        let token = csrf(&admin, &app.url("/admin/shows/new")).await;
        let r = admin
            .post(app.url("/admin/shows"))
            .form(&[
                ("csrf", token.as_str()),
                ("name", "Le Cid"),
                ("duration_minutes", "deux heures"),
                ("tier", "A"),
                ("analytic_code", "CODE-BEAUCOUP-TROP-LONG"),
            ])
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 422);
        let html = r.text().await.unwrap();
        assert!(html.contains("value=\"Le Cid\""), "typed values are kept");
        assert!(
            html.contains("id=\"e-duration_minutes\">« deux heures » n&#x27;est pas un nombre entier")
                || html.contains("id=\"e-duration_minutes\">« deux heures »"),
            "{html}"
        );
        assert!(html.contains("id=\"e-discipline\""));
        assert!(html.contains("id=\"e-analytic_code\""));
        assert!(html.contains("aria-invalid=\"true\""));
        let r = admin
            .post(app.url("/admin/shows"))
            .form(&[
                ("csrf", token.as_str()),
                ("name", "Le Cid"),
                ("duration_minutes", "120"),
                ("tier", "A"),
                ("discipline", "theatre"),
                ("numbered", "1"),
            ])
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 303);
        let list = admin
            .get(app.url(r.headers()["location"].to_str().unwrap()))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert!(list.contains("Le Cid"));

        // Prices: a new price category and a product, with errors shown next to their fields.
        let r = admin
            .post(app.url("/admin/price-categories"))
            .form(&[("csrf", token.as_str()), ("code", "full"), ("name", "Doublon")])
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 409);
        assert!(r.text().await.unwrap().contains("id=\"e-code\""));
        let r = admin
            .post(app.url("/admin/price-categories"))
            .form(&[
                ("csrf", token.as_str()),
                ("code", "jobseeker"),
                ("name", "Demandeur d'emploi"),
                ("needs_proof", "1"),
            ])
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 303);
        let r = admin
            .post(app.url("/admin/products"))
            .form(&[
                ("csrf", token.as_str()),
                ("season_id", "1"),
                ("code", "programme"),
                ("name", "Programme"),
                ("kind", "annex"),
                ("price", "trois"),
            ])
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 422);
        assert!(r.text().await.unwrap().contains("id=\"e-price\">montant invalide"));
        let r = admin
            .post(app.url("/admin/products"))
            .form(&[
                ("csrf", token.as_str()),
                ("season_id", "1"),
                ("code", "programme"),
                ("name", "Programme de salle"),
                ("kind", "annex"),
                ("price", "3,50"),
                ("vat_rate", "20"),
            ])
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 303);
        let prices_page = admin.get(app.url("/admin/prices")).send().await.unwrap().text().await.unwrap();
        assert!(prices_page.contains("Demandeur d&#x27;emploi") || prices_page.contains("Demandeur d'emploi"));
        assert!(prices_page.contains("Programme de salle") && prices_page.contains("3,50"));
        let dup = admin
            .get(app.url("/admin/performances/new?from=1"))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert!(dup.contains("Dupliquer la séance"));

        // Users and roles: duplicate a role, create a user with it, who can then log in.
        let r = admin
            .get(app.url("/admin/roles/new?from=1"))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert!(r.contains("_copie"));
        let r = admin
            .post(app.url("/admin/roles"))
            .form(&[
                ("csrf", token.as_str()),
                ("code", "guichet_soir"),
                ("label", "Guichet du soir"),
                ("permissions", "catalog.read"),
                ("permissions", "sales.sell"),
            ])
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 303);
        let r = admin
            .post(app.url("/admin/users"))
            .form(&[
                ("csrf", token.as_str()),
                ("login", "paul"),
                ("display_name", "Paul"),
                ("password", "court"),
                ("roles", "guichet_soir"),
            ])
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 422);
        assert!(r.text().await.unwrap().contains("mot de passe trop court"));
        let r = admin
            .post(app.url("/admin/users"))
            .form(&[
                ("csrf", token.as_str()),
                ("login", "paul"),
                ("display_name", "Paul"),
                ("password", "assezlong"),
                ("roles", "guichet_soir"),
            ])
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 303);
        let paul = app.browser("paul", "assezlong").await;
        assert_eq!(paul.get(app.url("/admin/shows")).send().await.unwrap().status(), 200);
        assert_eq!(paul.get(app.url("/admin/users")).send().await.unwrap().status(), 403);

        // Logging out ends the session.
        let t = csrf(&paul, &app.url("/")).await;
        let r = paul.post(app.url("/logout")).form(&[("csrf", t.as_str())]).send().await.unwrap();
        assert_eq!(r.status(), 303);
        assert_eq!(paul.get(app.url("/admin/shows")).send().await.unwrap().status(), 303);
        app.stop().await;
    }
}

#[tokio::test]
async fn the_plan_page_draws_every_seat() {
    for db in apps().await.into_iter().take(1) {
        let app = TestApp::spawn(db).await;
        let admin = app.browser("admin", &app.admin_password).await;
        let html = admin
            .get(app.url("/admin/performances/1/plan"))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert!(html.contains("<svg"));
        assert_eq!(html.matches("<circle").count(), 843);
        assert!(html.contains("Rang A n° 1"));
        assert!(html.contains("(PMR)"));
        let perfs = parterre_core::catalog::performances::list_performances(&app.store, &Default::default())
            .await
            .unwrap();
        let free = perfs.iter().find(|p| !p.numbered).unwrap();
        let html = admin
            .get(app.url(&format!("/admin/performances/{}/plan", free.id)))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert!(html.contains(&format!("Placement libre — {} places", free.capacity)));
        assert_eq!(
            anonymous().get(app.url("/healthz")).send().await.unwrap().text().await.unwrap(),
            "ok"
        );
        app.stop().await;
    }
}

#[tokio::test]
async fn the_box_office_screen_sells_a_party_with_split_payment_and_prints_tickets() {
    for db in apps().await.into_iter().take(1) {
        let app = TestApp::spawn(db).await;
        app.user_with("caisse", &["sales.sell"]).await;
        let b = app.browser("caisse", "motdepasse").await;
        let now = chrono::Utc::now();
        let perfs = parterre_core::catalog::performances::list_performances(&app.store, &Default::default())
            .await
            .unwrap();
        let perf = perfs.iter().find(|p| p.numbered && p.capacity == 843 && p.starts_at > now).unwrap();
        let list = b
            .get(app.url(&format!("/box-office?q={}", perf.show_name.split(' ').next_back().unwrap())))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert!(
            list.contains(&format!("/box-office/performances/{}", perf.id)),
            "the search finds the performance"
        );

        let page_url = app.url(&format!("/box-office/performances/{}", perf.id));
        let html = b.get(&page_url).send().await.unwrap().text().await.unwrap();
        assert!(
            html.contains("<svg") && html.contains("Réservé non payé") && html.contains("Contingent"),
            "plan with the R-4.5 legend"
        );
        let token = csrf(&b, &page_url).await;
        let cats = parterre_core::catalog::prices::list_price_categories(&app.store).await.unwrap();
        let id = |c: &str| cats.iter().find(|x| x.code == c).unwrap().id.to_string();
        let (full, young) = (format!("n_{}", id("full")), format!("n_{}", id("under30")));
        let r = b
            .post(app.url(&format!("/box-office/performances/{}/party", perf.id)))
            .form(&[("csrf", token.as_str()), (full.as_str(), "2"), (young.as_str(), "2")])
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 303);
        let loc = r.headers()["location"].to_str().unwrap().to_string();
        let cart_id: i64 = loc.split("cart=").nth(1).unwrap().split('&').next().unwrap().parse().unwrap();
        let cart = parterre_core::sales::carts::get_cart(&app.store, cart_id).await.unwrap();
        assert_eq!(cart.items.len(), 4);
        assert!(
            cart.items
                .iter()
                .all(|i| i.seat.as_ref().unwrap().1 == cart.items[0].seat.as_ref().unwrap().1),
            "one row"
        );
        assert_eq!(
            cart.items
                .iter()
                .filter(|i| i.price_category_id.map(|x| x.to_string()) == Some(id("under30")))
                .count(),
            2
        );

        let cart_url = app.url(&format!("/box-office/carts/{cart_id}"));
        let html = b.get(&cart_url).send().await.unwrap().text().await.unwrap();
        assert!(html.contains("Total à payer"));
        let due = cart.amount_due;
        let part = Money::cents(1500);
        let rest = Money::cents(due.as_cents() - part.as_cents());
        let r = b
            .post(app.url(&format!("/box-office/carts/{cart_id}/checkout")))
            .form(&[
                ("csrf", token.as_str()),
                ("last_name", "Lefèvre"),
                ("method_1", "cash"),
                ("amount_1", "15,00"),
            ])
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 422);
        assert!(r.text().await.unwrap().contains("doit égaler"));
        let (p1, p2) = (part.display_fr(), rest.to_string().replace('.', ","));
        let r = b
            .post(app.url(&format!("/box-office/carts/{cart_id}/checkout")))
            .form(&[
                ("csrf", token.as_str()),
                ("last_name", "Lefèvre"),
                ("email", "f.lefevre@exemple.fr"),
                ("method_1", "cash"),
                ("amount_1", p1.as_str()),
                ("method_2", "card"),
                ("amount_2", p2.as_str()),
            ])
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 303);
        let order_url = app.url(r.headers()["location"].to_str().unwrap());
        let html = b.get(&order_url).send().await.unwrap().text().await.unwrap();
        assert!(
            html.contains("Vente enregistrée") && html.contains("Carte bancaire") && html.contains("Espèces"),
            "{html}"
        );
        let r = b.get(format!("{order_url}/tickets.pdf")).send().await.unwrap();
        assert_eq!(r.headers()["content-type"], "application/pdf");
        let pdf = r.bytes().await.unwrap();
        let text = String::from_utf8_lossy(&pdf);
        assert_eq!(text.matches("/Type/Page").count() - text.matches("/Type/Pages").count(), 4);
        app.stop().await;
    }
}
