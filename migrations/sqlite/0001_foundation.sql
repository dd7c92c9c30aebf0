-- Foundation schema: users, roles, audit, outbox, catalogue.
-- Conventions (shared with migrations/postgres): money in integer cents, VAT rates in basis
-- points (550 = 5.5 %), timestamps as fixed-width UTC text "YYYY-MM-DDTHH:MM:SS.ffffffZ",
-- dates as "YYYY-MM-DD", flags as 0/1 integers.

CREATE TABLE settings (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL
);

CREATE TABLE users (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    login TEXT NOT NULL UNIQUE,
    display_name TEXT NOT NULL,
    password_hash TEXT NOT NULL,
    active INTEGER NOT NULL DEFAULT 1,
    created_at TEXT NOT NULL
);

CREATE TABLE roles (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    code TEXT NOT NULL UNIQUE,
    label TEXT NOT NULL,
    created_at TEXT NOT NULL
);

CREATE TABLE role_permissions (
    role_id INTEGER NOT NULL REFERENCES roles(id) ON DELETE CASCADE,
    permission TEXT NOT NULL,
    PRIMARY KEY (role_id, permission)
);

CREATE TABLE user_roles (
    user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    role_id INTEGER NOT NULL REFERENCES roles(id) ON DELETE CASCADE,
    PRIMARY KEY (user_id, role_id)
);

CREATE TABLE api_tokens (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    token_hash TEXT NOT NULL UNIQUE,
    label TEXT NOT NULL,
    created_at TEXT NOT NULL,
    revoked_at TEXT
);

CREATE TABLE sessions (
    id_hash TEXT PRIMARY KEY,
    user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    csrf_token TEXT NOT NULL,
    created_at TEXT NOT NULL,
    expires_at TEXT NOT NULL
);

CREATE TABLE audit_log (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    at TEXT NOT NULL,
    user_id INTEGER,
    actor TEXT NOT NULL,
    action TEXT NOT NULL,
    entity TEXT NOT NULL,
    entity_id TEXT,
    before_json TEXT,
    after_json TEXT
);
CREATE INDEX audit_log_entity ON audit_log (entity, entity_id);

CREATE TABLE outbox (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    event_id TEXT NOT NULL UNIQUE,
    occurred_at TEXT NOT NULL,
    kind TEXT NOT NULL,
    actor TEXT NOT NULL,
    payload TEXT NOT NULL
);

CREATE TABLE venues (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    name TEXT NOT NULL UNIQUE,
    main_site INTEGER NOT NULL DEFAULT 0,
    address TEXT NOT NULL DEFAULT '',
    postal_code TEXT NOT NULL DEFAULT '',
    city TEXT NOT NULL DEFAULT '',
    created_at TEXT NOT NULL
);

CREATE TABLE halls (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    venue_id INTEGER NOT NULL REFERENCES venues(id),
    name TEXT NOT NULL,
    created_at TEXT NOT NULL,
    UNIQUE (venue_id, name)
);

CREATE TABLE layouts (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    hall_id INTEGER NOT NULL REFERENCES halls(id),
    name TEXT NOT NULL,
    numbered INTEGER NOT NULL,
    capacity INTEGER NOT NULL,
    pmr_places INTEGER NOT NULL DEFAULT 0,
    is_template INTEGER NOT NULL DEFAULT 0,
    created_at TEXT NOT NULL,
    UNIQUE (hall_id, name)
);

CREATE TABLE seats (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    layout_id INTEGER NOT NULL REFERENCES layouts(id),
    row_label TEXT NOT NULL,
    number INTEGER NOT NULL,
    side TEXT NOT NULL,
    zone TEXT NOT NULL,
    pmr INTEGER NOT NULL DEFAULT 0,
    x INTEGER NOT NULL,
    y INTEGER NOT NULL,
    UNIQUE (layout_id, row_label, number)
);

CREATE TABLE seasons (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    name TEXT NOT NULL UNIQUE,
    starts_on TEXT NOT NULL,
    ends_on TEXT NOT NULL,
    created_at TEXT NOT NULL
);

CREATE TABLE price_categories (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    code TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL,
    needs_proof INTEGER NOT NULL DEFAULT 0,
    sort_order INTEGER NOT NULL DEFAULT 0,
    created_at TEXT NOT NULL
);

CREATE TABLE price_grid (
    season_id INTEGER NOT NULL REFERENCES seasons(id),
    tier TEXT NOT NULL,
    price_category_id INTEGER NOT NULL REFERENCES price_categories(id),
    amount_cents BIGINT NOT NULL,
    PRIMARY KEY (season_id, tier, price_category_id)
);

CREATE TABLE shows (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    season_id INTEGER NOT NULL REFERENCES seasons(id),
    name TEXT NOT NULL,
    picture_url TEXT NOT NULL DEFAULT '',
    duration_minutes INTEGER NOT NULL,
    discipline TEXT NOT NULL,
    audience TEXT NOT NULL,
    min_age INTEGER,
    tier TEXT NOT NULL,
    vat_rate_bp INTEGER NOT NULL,
    web_sale_opens_at TEXT,
    web_sale_closes_at TEXT,
    hall_id INTEGER REFERENCES halls(id),
    numbered INTEGER NOT NULL,
    ticket_prefix TEXT NOT NULL DEFAULT '',
    analytic_code TEXT NOT NULL DEFAULT '',
    artistic_director TEXT NOT NULL DEFAULT '',
    company TEXT NOT NULL DEFAULT '',
    description TEXT NOT NULL DEFAULT '',
    is_creation INTEGER NOT NULL DEFAULT 0,
    archived INTEGER NOT NULL DEFAULT 0,
    is_template INTEGER NOT NULL DEFAULT 0,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE INDEX shows_season ON shows (season_id);

CREATE TABLE show_prices (
    show_id INTEGER NOT NULL REFERENCES shows(id),
    price_category_id INTEGER NOT NULL REFERENCES price_categories(id),
    amount_cents BIGINT NOT NULL,
    PRIMARY KEY (show_id, price_category_id)
);

CREATE TABLE performances (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    show_id INTEGER NOT NULL REFERENCES shows(id),
    layout_id INTEGER NOT NULL REFERENCES layouts(id),
    starts_at TEXT NOT NULL,
    web_sale_opens_at TEXT,
    web_sale_closes_at TEXT,
    cancelled INTEGER NOT NULL DEFAULT 0,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE INDEX performances_show ON performances (show_id);
CREATE INDEX performances_starts ON performances (starts_at);

CREATE TABLE quotas (
    performance_id INTEGER NOT NULL REFERENCES performances(id),
    family TEXT NOT NULL,
    places INTEGER NOT NULL,
    PRIMARY KEY (performance_id, family)
);

CREATE TABLE products (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    season_id INTEGER NOT NULL REFERENCES seasons(id),
    code TEXT NOT NULL,
    name TEXT NOT NULL,
    kind TEXT NOT NULL,
    size INTEGER,
    price_cents BIGINT,
    reduced_price_cents BIGINT,
    vat_rate_bp INTEGER NOT NULL,
    active INTEGER NOT NULL DEFAULT 1,
    created_at TEXT NOT NULL,
    UNIQUE (season_id, code)
);
