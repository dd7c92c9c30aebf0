//! The store story: every store method, in a realistic order, on SQLite always and on
//! PostgreSQL when `PARTERRE_TEST_PG` is set. What one backend does, the other must do too.

use parterre_core::auth::{audit, permissions, roles, sessions, tokens, users};
use parterre_core::catalog::Tier;
use parterre_core::catalog::{self, performances, plans, prices, seasons, shows, venues, PerformanceQuery};
use parterre_core::contacts::{self, PayerInput};
use parterre_core::sales::{carts, promo, waitlist, TicketRequest};
use parterre_core::testing::TestDb;
use parterre_core::{db, events, Actor, CoreError, Money, Store};

async fn outbox_kinds(store: &Store) -> Vec<String> {
    events::read_outbox(store, 0, 100_000)
        .await
        .unwrap()
        .into_iter()
        .map(|(_, e)| e.event.kind().to_string())
        .collect()
}

async fn story(store: &Store) {
    let sys = Actor::system();

    // Roles: create, edit, duplicate; unknown permission refused.
    let clerk = roles::create_role(store, &sys, "guichet", "Guichet", &["catalog.read".into(), "sales.sell".into()])
        .await
        .unwrap();
    assert!(matches!(
        roles::create_role(store, &sys, "guichet", "Encore", &[]).await,
        Err(CoreError::Conflict(_))
    ));
    assert!(matches!(
        roles::create_role(store, &sys, "x", "X", &["nope".into()]).await,
        Err(CoreError::Invalid(_))
    ));
    let clerk = roles::update_role(
        store,
        &sys,
        clerk.id,
        "Guichet soir",
        &["catalog.read".into(), "sales.sell".into(), "crm.read".into()],
    )
    .await
    .unwrap();
    let copy = roles::duplicate_role(store, &sys, clerk.id, "guichet_bis", "Guichet (copie)")
        .await
        .unwrap();
    assert_eq!(copy.permissions, clerk.permissions);
    roles::create_role(store, &sys, "compta", "Comptabilité", &[permissions::ACCOUNTING_READ.into()])
        .await
        .unwrap();

    // Users: several roles, login, bad password, disabled account.
    let u = users::create_user(
        store,
        &sys,
        "marie",
        "Marie Curie",
        "motdepasse1",
        &["guichet".into(), "compta".into()],
    )
    .await
    .unwrap();
    assert!(matches!(
        users::create_user(store, &sys, "marie", "Autre", "motdepasse1", &[]).await,
        Err(CoreError::Conflict(_))
    ));
    assert!(matches!(
        users::create_user(store, &sys, "court", "Court", "abc", &[]).await,
        Err(CoreError::Invalid(_))
    ));
    let auth = users::verify_login(store, "marie", "motdepasse1").await.unwrap();
    assert!(auth.can("sales.sell") && auth.can("accounting.read") && !auth.can("admin.users"));
    assert!(matches!(
        users::verify_login(store, "marie", "mauvais").await,
        Err(CoreError::BadCredentials)
    ));
    assert!(matches!(
        users::verify_login(store, "inconnu", "x").await,
        Err(CoreError::BadCredentials)
    ));

    // Sessions and tokens.
    let cookie = sessions::create_session(store, &auth).await.unwrap();
    let s = sessions::find_session(store, &cookie).await.unwrap().unwrap();
    assert_eq!(s.user.login, "marie");
    assert!(sessions::find_session(store, "faux").await.unwrap().is_none());
    let token = tokens::create_token(store, &sys, "marie", "script").await.unwrap();
    assert_eq!(tokens::authenticate(store, &token).await.unwrap().unwrap().id, u.id);
    assert!(tokens::authenticate(store, "prt_faux").await.unwrap().is_none());
    users::update_user(store, &sys, u.id, "Marie C.", false, &["guichet".into()], None)
        .await
        .unwrap();
    assert!(
        tokens::authenticate(store, &token).await.unwrap().is_none(),
        "disabled user keeps no access"
    );
    assert!(sessions::find_session(store, &cookie).await.unwrap().is_none());
    users::update_user(store, &sys, u.id, "Marie C.", true, &["guichet".into()], Some("nouveaumdp"))
        .await
        .unwrap();
    assert!(users::verify_login(store, "marie", "nouveaumdp").await.is_ok());

    // Venues, halls, layouts, plan import with a duplicate refused.
    let v = venues::ensure_venue(store, &sys, "Théâtre", true, "Lieusaint").await.unwrap();
    assert_eq!(venues::ensure_venue(store, &sys, "Théâtre", true, "Lieusaint").await.unwrap(), v);
    let h = venues::ensure_hall(store, &sys, v, "Studio").await.unwrap();
    let l = venues::ensure_layout(store, &sys, h, "Numérotée", true, 0, 0, false).await.unwrap();
    let bad = plans::parse_plan_csv("A;1;impair;p;1;0;0\nA;1;impair;p;0;10;0").unwrap();
    assert!(plans::import_plan(store, &sys, l, &bad).await.is_err());
    assert!(plans::seats(store, l).await.unwrap().is_empty(), "a refused plan writes nothing");
    let good = plans::parse_plan_csv("A;1;impair;p;1;0;0\nA;2;pair;p;0;10;0\nB;1;impair;p;0;0;10").unwrap();
    assert_eq!(plans::import_plan(store, &sys, l, &good).await.unwrap(), 3);
    assert!(matches!(
        plans::import_plan(store, &sys, l, &good).await,
        Err(CoreError::Conflict(_))
    ));
    let free = venues::ensure_layout(store, &sys, h, "Libre", false, 120, 2, false).await.unwrap();
    let layouts = venues::list_hall_layouts(store).await.unwrap();
    let numbered = layouts.iter().find(|x| x.layout_id == l).unwrap();
    assert_eq!((numbered.capacity, numbered.pmr_places, numbered.numbered), (3, 1, true));
    assert_eq!(layouts.iter().find(|x| x.layout_id == free).unwrap().capacity, 120);

    // Seasons, prices, products.
    let day = chrono::NaiveDate::from_ymd_opt(2026, 11, 23).unwrap();
    let season = seasons::ensure_season_for(store, &sys, day).await.unwrap();
    assert_eq!(season.name, "2026-2027");
    assert_eq!(seasons::ensure_season_for(store, &sys, day).await.unwrap().id, season.id);
    let full = prices::ensure_price_category(store, &sys, "full", "Plein tarif", false, 0)
        .await
        .unwrap();
    prices::set_grid_price(store, &sys, season.id, Tier::A, full, Money::euros(33))
        .await
        .unwrap();
    prices::set_grid_price(store, &sys, season.id, Tier::A, full, Money::cents(3350))
        .await
        .unwrap();
    assert_eq!(prices::grid(store, season.id).await.unwrap().len(), 1);
    // An unknown show category cannot even be named: the API refuses it while reading the body.
    assert!("Z".parse::<Tier>().unwrap_err().to_string().contains("A+, A, B, C, D"));
    let pi = catalog::ProductInput {
        code: "formule5".into(),
        name: "Formule 5".into(),
        kind: "formule".into(),
        size: Some(5),
        price: None,
        reduced_price: None,
        vat_rate_bp: 550,
    };
    prices::ensure_product(store, &sys, season.id, &pi).await.unwrap();
    assert_eq!(prices::list_products(store, Some(season.id)).await.unwrap()[0].size, Some(5));

    // Shows: create, bad input, edit, duplicate, prices.
    let input = shows::ShowInput {
        season_id: Some(season.id),
        name: "Phèdre".into(),
        duration_minutes: Some(110),
        discipline: "theatre".into(),
        tier: "A".into(),
        hall_id: Some(h),
        numbered: true,
        analytic_code: "PHEDRE".into(),
        ..Default::default()
    };
    let show = shows::create_show(store, &sys, &input).await.unwrap();
    let bad = shows::ShowInput {
        name: "".into(),
        ..input.clone()
    };
    assert!(matches!(shows::create_show(store, &sys, &bad).await, Err(CoreError::Invalid(e)) if e.get("name").is_some()));
    let edited = shows::update_show(
        store,
        &sys,
        show.id,
        &shows::ShowInput {
            name: "Phèdre (reprise)".into(),
            ..input.clone()
        },
    )
    .await
    .unwrap();
    assert_eq!(edited.name, "Phèdre (reprise)");
    let dup = shows::duplicate_show(store, &sys, show.id).await.unwrap();
    assert_eq!(dup.name, "Phèdre (reprise) (copie)");
    assert_eq!(dup.analytic_code, "PHEDRE");
    shows::set_show_price(store, &sys, dup.id, full, Some(Money::euros(20)))
        .await
        .unwrap();
    let p = shows::show_prices(store, &dup).await.unwrap();
    assert_eq!((p[0].amount, p[0].special), (Money::euros(20), true));
    assert_eq!(shows::show_prices(store, &edited).await.unwrap()[0].amount, Money::cents(3350));
    assert_eq!(shows::list_shows(store, Some(season.id), false).await.unwrap().len(), 2);

    // Performances with quotas; quotas above capacity refused.
    let pin = catalog::PerformanceInput {
        show_id: Some(show.id),
        layout_id: Some(free),
        starts_at: "2026-12-03T20:30".into(),
        quotas: Some(vec![catalog::Quota {
            family: "invitation".into(),
            places: 10,
        }]),
        ..Default::default()
    };
    let perf = performances::create_performance(store, &sys, &pin).await.unwrap();
    assert_eq!(perf.starts_at.to_rfc3339(), "2026-12-03T19:30:00+00:00");
    assert_eq!((perf.capacity, perf.quotas.len()), (120, 1));
    let too_many = catalog::PerformanceInput {
        quotas: Some(vec![catalog::Quota {
            family: "school".into(),
            places: 500,
        }]),
        ..pin.clone()
    };
    assert!(
        matches!(performances::create_performance(store, &sys, &too_many).await, Err(CoreError::Invalid(e)) if e.get("quotas").is_some())
    );
    let moved = performances::update_performance(
        store,
        &sys,
        perf.id,
        &catalog::PerformanceInput {
            starts_at: "2026-12-04T20:30".into(),
            layout_id: Some(l),
            quotas: Some(vec![]),
            ..pin.clone()
        },
    )
    .await
    .unwrap();
    assert_eq!((moved.layout_id, moved.capacity, moved.numbered), (l, 3, true));
    let q = catalog::PerformanceQuery {
        season_id: Some(season.id),
        show_id: None,
        ..Default::default()
    };
    assert_eq!(performances::list_performances(store, &q).await.unwrap().len(), 1);

    // Carry-over to the next season.
    let co = seasons::carry_over(store, &sys, season.id, true).await.unwrap();
    assert_eq!((co.grid_cells, co.products, co.show_templates), (1, 1, 2));
    let again = seasons::carry_over(store, &sys, season.id, true).await.unwrap();
    assert_eq!((again.grid_cells, again.products, again.show_templates), (0, 0, 0));
    assert_eq!(seasons::list_seasons(store).await.unwrap()[0].name, "2027-2028");

    // Audit: every write above left a row with before/after; events in the outbox.
    let rows = audit::recent(store, Some("show"), 100).await.unwrap();
    let upd = rows.iter().find(|r| r.action == "show.update").unwrap();
    assert!(upd.before_json.as_deref().unwrap().contains("\"Phèdre\""));
    assert!(upd.after_json.as_deref().unwrap().contains("Phèdre (reprise)"));
    assert!(audit::recent(store, Some("user"), 100)
        .await
        .unwrap()
        .iter()
        .any(|r| r.action == "login.failed"));
    let kinds = outbox_kinds(store).await;
    for k in [
        "role_created",
        "user_created",
        "seat_plan_imported",
        "show_created",
        "show_updated",
        "show_duplicated",
        "performance_created",
        "quota_set",
        "season_carried_over",
    ] {
        assert!(kinds.iter().any(|x| x == k), "no {k} event");
    }
}

async fn demo_story(store: &Store) {
    let today = chrono::NaiveDate::from_ymd_opt(2026, 11, 23).unwrap();
    let first = parterre_core::demo::load(store, today).await.unwrap();
    assert!(first.created && first.admin_password.is_some());
    assert_eq!((first.season.as_str(), first.shows, first.performances), ("2026-2027", 65, 200));
    let events_after_first = outbox_kinds(store).await.len();
    let second = parterre_core::demo::load(store, today).await.unwrap();
    assert!(!second.created && second.admin_password.is_none());
    assert_eq!((second.shows, second.performances), (65, 200));
    assert_eq!(outbox_kinds(store).await.len(), events_after_first, "a second run writes nothing");
    let halls = venues::list_hall_layouts(store).await.unwrap();
    let cap = |hall: &str, layout: &str| {
        halls
            .iter()
            .find(|h| h.hall_name == hall && h.layout_name == layout)
            .map(|h| (h.capacity, h.numbered))
    };
    assert_eq!(cap("Grande salle", "Numérotée"), Some((843, true)));
    assert_eq!(cap("Black Box", "Frontal"), Some((303, true)));
    assert_eq!(cap("Black Box", "Bi-frontal"), Some((400, false)));
    assert_eq!(cap("Black Box", "Debout"), Some((1200, false)));
    assert_eq!(cap("Salle René Gonzalez", "Placement libre"), Some((99, false)));
    let season = seasons::find_season(store, "2026-2027").await.unwrap().unwrap();
    let grid = prices::grid(store, season.id).await.unwrap();
    let cats = prices::list_price_categories(store).await.unwrap();
    let price = |tier: &str, code: &str| {
        let pc = cats.iter().find(|c| c.code == code).unwrap().id;
        grid.iter()
            .find(|g| g.tier.code() == tier && g.price_category_id == pc)
            .unwrap()
            .amount
    };
    assert_eq!(price("A+", "full"), Money::euros(35));
    assert_eq!(price("A", "reduced"), Money::euros(27));
    assert_eq!(price("B", "under30"), Money::euros(22));
    assert_eq!(price("D", "under12"), Money::euros(10));
    let admin = users::verify_login(store, "admin", first.admin_password.as_deref().unwrap())
        .await
        .unwrap();
    assert!(admin.can("admin.users"));
}

#[tokio::test]
async fn store_story_on_every_backend() {
    for db in TestDb::all().await.unwrap() {
        eprintln!("store story on {}", db.label);
        let store = db.open().await.unwrap();
        story(&store).await;
        store.close().await;
        db.cleanup().await;
    }
}

#[tokio::test]
async fn demo_on_every_backend() {
    for db in TestDb::all().await.unwrap() {
        eprintln!("demo on {}", db.label);
        let store = db.open().await.unwrap();
        demo_story(&store).await;
        store.close().await;
        db.cleanup().await;
    }
}

/// Every audit row and outbox row as lower-case text, to search for what must not be there.
async fn trail(store: &Store) -> Vec<String> {
    let audit: Vec<(String, Option<String>, Option<String>, Option<String>)> =
        db::query_as("SELECT actor, entity_id, before_json, after_json FROM audit_log ORDER BY id")
            .fetch_all(store.pool())
            .await
            .unwrap();
    let outbox: Vec<(String, String)> = db::query_as("SELECT actor, payload FROM outbox ORDER BY seq")
        .fetch_all(store.pool())
        .await
        .unwrap();
    let mut out: Vec<String> = audit
        .into_iter()
        .map(|(a, id, b, af)| {
            format!(
                "audit {a} {} {} {}",
                id.unwrap_or_default(),
                b.unwrap_or_default(),
                af.unwrap_or_default()
            )
        })
        .collect();
    out.extend(outbox.into_iter().map(|(a, p)| format!("outbox {a} {p}")));
    out.into_iter().map(|t| t.to_lowercase()).collect()
}

/// A buyer, a waiting-list entry, a staff user, a failed login with a long typed name, a
/// promo code (shared and single-use) created and applied, a token: afterwards no audit row
/// and no event holds a name, an email, a phone, a login or a code — only ids.
async fn personal_data_story(store: &Store) {
    parterre_core::demo::load(store, parterre_core::time::today_paris()).await.unwrap();
    let sys = Actor::system();
    let staff = users::create_user(store, &sys, "ysolde.trebaol", "Ysolde Trebaol", "motdepasse1", &[])
        .await
        .unwrap();
    let clerk = Actor::user(staff.id, &staff.login);

    // A buyer created during a sale, by a staff member.
    let mut tx = store.write(&clerk).await.unwrap();
    let buyer = contacts::resolve_payer(
        &mut tx,
        &PayerInput {
            last_name: Some("Zébulon-Quintal".into()),
            first_name: Some("Hortense".into()),
            email: Some("hortense.zq@exemple-prive.fr".into()),
            postal_code: Some("75011".into()),
            city: Some("Paris".into()),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();

    // Someone on a waiting list, with a phone.
    let perfs = performances::list_performances(store, &PerformanceQuery::default()).await.unwrap();
    let perf = perfs
        .iter()
        .find(|p| !p.numbered && p.capacity == 99 && p.starts_at > chrono::Utc::now() + chrono::Duration::days(1))
        .unwrap();
    waitlist::join(
        store,
        &clerk,
        perf.id,
        &waitlist::WaitlistInput {
            last_name: "Ondine-Pervenche".into(),
            first_name: "Léa".into(),
            email: "lea.op@exemple-prive.fr".into(),
            phone: "06 98 76 54 32".into(),
            ..Default::default()
        },
    )
    .await
    .unwrap();

    // Failed logins: a 60-character name nobody has, and a real login with a wrong password.
    let typed = format!("intrus{}", "q".repeat(54));
    assert_eq!(typed.chars().count(), 60);
    assert!(matches!(
        users::verify_login(store, &typed, "x").await,
        Err(CoreError::BadCredentials)
    ));
    assert!(matches!(
        users::verify_login(store, "ysolde.trebaol", "mauvais!").await,
        Err(CoreError::BadCredentials)
    ));
    let failed: Vec<_> = audit::recent(store, Some("user"), 50)
        .await
        .unwrap()
        .into_iter()
        .filter(|r| r.action == "login.failed")
        .collect();
    assert_eq!(failed.len(), 2);
    assert_eq!(
        failed[0].entity_id.as_deref(),
        Some(staff.id.to_string().as_str()),
        "a known login: its user id"
    );
    assert_eq!(failed[1].entity_id, None, "an unknown login: no name at all");

    // Promo codes: a shared one and a single-use batch, one applied to a cart.
    let shared = promo::create(
        store,
        &clerk,
        &promo::PromoInput {
            code: Some("sesame-confidentiel".into()),
            discount_percent: Some(10),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    let batch = promo::create(
        store,
        &clerk,
        &promo::PromoInput {
            batch_size: Some(3),
            discount_amount: Some(Money::cents(500)),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    let cats = prices::list_price_categories(store).await.unwrap();
    let full = cats.iter().find(|c| c.code == "full").unwrap().id;
    let cart = carts::create_cart(store, &clerk, parterre_core::sales::Channel::Counter, 3600)
        .await
        .unwrap();
    carts::add_tickets(
        store,
        &clerk,
        cart.id,
        &TicketRequest {
            performance_id: perf.id,
            price_category_id: full,
            quantity: Some(1),
            ..Default::default()
        },
        3600,
    )
    .await
    .unwrap();
    promo::apply(store, &clerk, cart.id, &batch[0].code).await.unwrap();
    let token = tokens::create_token(store, &sys, "ysolde.trebaol", "script de caisse")
        .await
        .unwrap();

    let rows = trail(store).await;
    let mut secrets = vec![
        "zébulon".to_string(),
        "hortense".into(),
        "exemple-prive".into(),
        "ondine".into(),
        "pervenche".into(),
        "98 76 54 32".into(),
        "ysolde".into(),
        "trebaol".into(),
        typed.clone(),
        shared[0].code.to_lowercase(),
        token.to_lowercase(),
        token[parterre_core::auth::tokens::TOKEN_PREFIX.len()..].to_lowercase(),
    ];
    secrets.extend(batch.iter().map(|b| b.code.to_lowercase()));
    for secret in &secrets {
        let found: Vec<&String> = rows.iter().filter(|r| r.contains(secret.as_str())).collect();
        assert!(found.is_empty(), "« {secret} » found in the trail: {found:?}");
    }
    // People appear by id: the buyer's, and the clerk as `user:ID`.
    let by_clerk = format!("audit user:{} {}", staff.id, buyer.id);
    assert!(rows
        .iter()
        .any(|r| r.starts_with(&by_clerk) && r.contains(&format!("{{\"id\":{}}}", buyer.id))));
    assert!(rows.iter().any(|r| r.starts_with(&format!("outbox user:{}", staff.id))));
    // The postal code and city stay in the event: audience geography needs them.
    assert!(rows.iter().any(|r| r.contains("contact_created") && r.contains("75011")));
    // Administrators still see who did it: the login is read from `users` at display time.
    let shown = audit::recent(store, Some("cart"), 10).await.unwrap();
    assert!(
        shown.iter().any(|r| r.action == "cart.promo" && r.actor == "ysolde.trebaol"),
        "{shown:?}"
    );

    // Retention: rows older than the cut-off go, the prune itself is audited (a count only).
    let before: i64 = db::query_as::<(i64,)>("SELECT COUNT(*) FROM audit_log")
        .fetch_one(store.pool())
        .await
        .unwrap()
        .0;
    let now = chrono::Utc::now();
    assert_eq!(audit::prune(store, 30, now).await.unwrap(), 0, "nothing is a month old yet");
    assert!(audit::prune(store, 5, now).await.is_err(), "a retention under a month is refused");
    let gone = audit::prune(store, 30, now + chrono::Duration::days(31)).await.unwrap();
    assert_eq!(gone as i64, before + 1, "every row, the first prune's included, was older");
    let left = audit::recent(store, None, 10).await.unwrap();
    assert_eq!(left.len(), 1);
    assert_eq!(left[0].action, "audit.prune");
    assert!(left[0].after_json.as_deref().unwrap().contains(&format!("\"rows\":{gone}")));
}

#[tokio::test]
async fn no_personal_data_or_secret_in_audit_or_events_on_every_backend() {
    for db in TestDb::all().await.unwrap() {
        eprintln!("personal data story on {}", db.label);
        let store = db.open().await.unwrap();
        personal_data_story(&store).await;
        store.close().await;
        db.cleanup().await;
    }
}

#[test]
fn migration_folders_have_the_same_versions() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../migrations");
    let versions = |d: &str| {
        let mut v: Vec<String> = std::fs::read_dir(root.join(d))
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().split('_').next().unwrap().to_string())
            .collect();
        v.sort();
        v
    };
    assert!(!versions("sqlite").is_empty());
    assert_eq!(versions("sqlite"), versions("postgres"));
}
