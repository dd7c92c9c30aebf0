-- Foundation schema: users, roles, audit, outbox, catalogue.
-- Conventions (shared with migrations/postgres): money in integer cents, VAT rates in basis
-- points (550 = 5.5 %), timestamps as fixed-width UTC text "YYYY-MM-DDTHH:MM:SS.ffffffZ",
-- dates as "YYYY-MM-DD", flags as 0/1 integers.

CREATE TABLE settings (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL
);

CREATE TABLE users (
    id BIGSERIAL PRIMARY KEY,
    login TEXT NOT NULL UNIQUE,
    display_name TEXT NOT NULL,
    password_hash TEXT NOT NULL,
    active BIGINT NOT NULL DEFAULT 1,
    created_at TEXT NOT NULL
);

CREATE TABLE roles (
    id BIGSERIAL PRIMARY KEY,
    code TEXT NOT NULL UNIQUE,
    label TEXT NOT NULL,
    created_at TEXT NOT NULL
);

CREATE TABLE role_permissions (
    role_id BIGINT NOT NULL REFERENCES roles(id) ON DELETE CASCADE,
    permission TEXT NOT NULL,
    PRIMARY KEY (role_id, permission)
);

CREATE TABLE user_roles (
    user_id BIGINT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    role_id BIGINT NOT NULL REFERENCES roles(id) ON DELETE CASCADE,
    PRIMARY KEY (user_id, role_id)
);

CREATE TABLE api_tokens (
    id BIGSERIAL PRIMARY KEY,
    user_id BIGINT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    token_hash TEXT NOT NULL UNIQUE,
    label TEXT NOT NULL,
    created_at TEXT NOT NULL,
    revoked_at TEXT
);

CREATE TABLE sessions (
    id_hash TEXT PRIMARY KEY,
    user_id BIGINT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    csrf_token TEXT NOT NULL,
    created_at TEXT NOT NULL,
    expires_at TEXT NOT NULL
);

CREATE TABLE audit_log (
    id BIGSERIAL PRIMARY KEY,
    at TEXT NOT NULL,
    user_id BIGINT,
    actor TEXT NOT NULL,
    action TEXT NOT NULL,
    entity TEXT NOT NULL,
    entity_id TEXT,
    before_json TEXT,
    after_json TEXT
);
CREATE INDEX audit_log_entity ON audit_log (entity, entity_id);

CREATE TABLE outbox (
    seq BIGSERIAL PRIMARY KEY,
    event_id TEXT NOT NULL UNIQUE,
    occurred_at TEXT NOT NULL,
    kind TEXT NOT NULL,
    actor TEXT NOT NULL,
    payload TEXT NOT NULL
);

CREATE TABLE venues (
    id BIGSERIAL PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    main_site BIGINT NOT NULL DEFAULT 0,
    address TEXT NOT NULL DEFAULT '',
    postal_code TEXT NOT NULL DEFAULT '',
    city TEXT NOT NULL DEFAULT '',
    created_at TEXT NOT NULL
);

CREATE TABLE halls (
    id BIGSERIAL PRIMARY KEY,
    venue_id BIGINT NOT NULL REFERENCES venues(id),
    name TEXT NOT NULL,
    created_at TEXT NOT NULL,
    UNIQUE (venue_id, name)
);

CREATE TABLE layouts (
    id BIGSERIAL PRIMARY KEY,
    hall_id BIGINT NOT NULL REFERENCES halls(id),
    name TEXT NOT NULL,
    numbered BIGINT NOT NULL,
    capacity BIGINT NOT NULL,
    pmr_places BIGINT NOT NULL DEFAULT 0,
    is_template BIGINT NOT NULL DEFAULT 0,
    created_at TEXT NOT NULL,
    UNIQUE (hall_id, name)
);

CREATE TABLE seats (
    id BIGSERIAL PRIMARY KEY,
    layout_id BIGINT NOT NULL REFERENCES layouts(id),
    row_label TEXT NOT NULL,
    number BIGINT NOT NULL,
    side TEXT NOT NULL,
    zone TEXT NOT NULL,
    pmr BIGINT NOT NULL DEFAULT 0,
    x BIGINT NOT NULL,
    y BIGINT NOT NULL,
    UNIQUE (layout_id, row_label, number)
);

CREATE TABLE seasons (
    id BIGSERIAL PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    starts_on TEXT NOT NULL,
    ends_on TEXT NOT NULL,
    created_at TEXT NOT NULL
);

CREATE TABLE price_categories (
    id BIGSERIAL PRIMARY KEY,
    code TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL,
    needs_proof BIGINT NOT NULL DEFAULT 0,
    sort_order BIGINT NOT NULL DEFAULT 0,
    created_at TEXT NOT NULL
);

CREATE TABLE price_grid (
    season_id BIGINT NOT NULL REFERENCES seasons(id),
    tier TEXT NOT NULL,
    price_category_id BIGINT NOT NULL REFERENCES price_categories(id),
    amount_cents BIGINT NOT NULL,
    PRIMARY KEY (season_id, tier, price_category_id)
);

CREATE TABLE shows (
    id BIGSERIAL PRIMARY KEY,
    season_id BIGINT NOT NULL REFERENCES seasons(id),
    name TEXT NOT NULL,
    picture_url TEXT NOT NULL DEFAULT '',
    duration_minutes BIGINT NOT NULL,
    discipline TEXT NOT NULL,
    audience TEXT NOT NULL,
    min_age BIGINT,
    tier TEXT NOT NULL,
    vat_rate_bp BIGINT NOT NULL,
    web_sale_opens_at TEXT,
    web_sale_closes_at TEXT,
    hall_id BIGINT REFERENCES halls(id),
    numbered BIGINT NOT NULL,
    ticket_prefix TEXT NOT NULL DEFAULT '',
    analytic_code TEXT NOT NULL DEFAULT '',
    artistic_director TEXT NOT NULL DEFAULT '',
    company TEXT NOT NULL DEFAULT '',
    description TEXT NOT NULL DEFAULT '',
    is_creation BIGINT NOT NULL DEFAULT 0,
    archived BIGINT NOT NULL DEFAULT 0,
    is_template BIGINT NOT NULL DEFAULT 0,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE INDEX shows_season ON shows (season_id);

CREATE TABLE show_prices (
    show_id BIGINT NOT NULL REFERENCES shows(id),
    price_category_id BIGINT NOT NULL REFERENCES price_categories(id),
    amount_cents BIGINT NOT NULL,
    PRIMARY KEY (show_id, price_category_id)
);

CREATE TABLE performances (
    id BIGSERIAL PRIMARY KEY,
    show_id BIGINT NOT NULL REFERENCES shows(id),
    layout_id BIGINT NOT NULL REFERENCES layouts(id),
    starts_at TEXT NOT NULL,
    web_sale_opens_at TEXT,
    web_sale_closes_at TEXT,
    cancelled BIGINT NOT NULL DEFAULT 0,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE INDEX performances_show ON performances (show_id);
CREATE INDEX performances_starts ON performances (starts_at);

CREATE TABLE quotas (
    performance_id BIGINT NOT NULL REFERENCES performances(id),
    family TEXT NOT NULL,
    places BIGINT NOT NULL,
    PRIMARY KEY (performance_id, family)
);

CREATE TABLE products (
    id BIGSERIAL PRIMARY KEY,
    season_id BIGINT NOT NULL REFERENCES seasons(id),
    code TEXT NOT NULL,
    name TEXT NOT NULL,
    kind TEXT NOT NULL,
    size BIGINT,
    price_cents BIGINT,
    reduced_price_cents BIGINT,
    vat_rate_bp BIGINT NOT NULL,
    active BIGINT NOT NULL DEFAULT 1,
    created_at TEXT NOT NULL,
    UNIQUE (season_id, code)
);
