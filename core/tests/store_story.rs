//! The store story: every store method, in a realistic order, on SQLite always and on
//! PostgreSQL when `PARTERRE_TEST_PG` is set. What one backend does, the other must do too.

use parterre_core::auth::{audit, permissions, roles, sessions, tokens, users};
use parterre_core::catalog::{self, performances, plans, prices, seasons, shows, venues};
use parterre_core::testing::TestDb;
use parterre_core::{events, Actor, CoreError, Money, Store};

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
    prices::set_grid_price(store, &sys, season.id, "A", full, Money::euros(33))
        .await
        .unwrap();
    prices::set_grid_price(store, &sys, season.id, "A", full, Money::cents(3350))
        .await
        .unwrap();
    assert_eq!(prices::grid(store, season.id).await.unwrap().len(), 1);
    assert!(prices::set_grid_price(store, &sys, season.id, "Z", full, Money::euros(1))
        .await
        .is_err());
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
        grid.iter().find(|g| g.tier == tier && g.price_category_id == pc).unwrap().amount
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
