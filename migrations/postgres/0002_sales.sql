-- Sales core: contacts (minimal, extended by the CRM), payment methods, per-performance
-- inventory, carts, orders, tickets, payments, promo codes, waiting lists, sequences.
-- Same conventions as 0001: cents, basis points, UTC text timestamps, 0/1 flags.

CREATE TABLE contacts (
    id BIGSERIAL PRIMARY KEY,
    last_name TEXT NOT NULL,
    first_name TEXT NOT NULL DEFAULT '',
    email TEXT,
    phone TEXT,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE INDEX contacts_email ON contacts (email);

CREATE TABLE payment_methods (
    code TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    active BIGINT NOT NULL DEFAULT 1,
    sort_order BIGINT NOT NULL DEFAULT 0
);
INSERT INTO payment_methods (code, name, sort_order) VALUES
    ('cash', 'Espèces', 1),
    ('card', 'Carte bancaire', 2),
    ('cheque', 'Chèque', 3),
    ('holiday_voucher', 'Chèques vacances', 4),
    ('gift_card', 'Carte cadeau', 5),
    ('pass_culture', 'Pass Culture', 6);

CREATE TABLE sequences (
    name TEXT PRIMARY KEY,
    value BIGINT NOT NULL
);

CREATE TABLE promo_codes (
    id BIGSERIAL PRIMARY KEY,
    code TEXT NOT NULL UNIQUE,
    batch TEXT,
    valid_from TEXT,
    valid_until TEXT,
    max_uses BIGINT,
    uses BIGINT NOT NULL DEFAULT 0,
    discount_percent BIGINT,
    discount_cents BIGINT,
    show_ids TEXT NOT NULL DEFAULT '',
    performance_ids TEXT NOT NULL DEFAULT '',
    price_category_ids TEXT NOT NULL DEFAULT '',
    created_at TEXT NOT NULL
);

CREATE TABLE carts (
    id BIGSERIAL PRIMARY KEY,
    channel TEXT NOT NULL,
    operator_id BIGINT,
    status TEXT NOT NULL,
    promo_code_id BIGINT REFERENCES promo_codes(id),
    order_id BIGINT,
    created_at TEXT NOT NULL,
    expires_at TEXT NOT NULL
);
CREATE INDEX carts_open ON carts (status, expires_at);

CREATE TABLE cart_items (
    id BIGSERIAL PRIMARY KEY,
    cart_id BIGINT NOT NULL REFERENCES carts(id),
    kind TEXT NOT NULL,
    performance_id BIGINT REFERENCES performances(id),
    seat_id BIGINT REFERENCES seats(id),
    family TEXT NOT NULL DEFAULT '',
    price_category_id BIGINT REFERENCES price_categories(id),
    product_id BIGINT REFERENCES products(id),
    parent_item_id BIGINT,
    unit_cents BIGINT NOT NULL,
    discount_cents BIGINT NOT NULL DEFAULT 0,
    vat_rate_bp BIGINT NOT NULL,
    quantity BIGINT NOT NULL DEFAULT 1,
    spectator TEXT NOT NULL DEFAULT '',
    created_at TEXT NOT NULL
);
CREATE INDEX cart_items_cart ON cart_items (cart_id);

-- A row per place taken: held (with its cart item and expiry), sold, option, invitation,
-- quota (numbered seats set aside for a family) or blocked. A numbered seat is available when
-- it has no row; the unique key is what makes a double sale impossible. Free placement rows
-- have no seat and are counted against the pool's capacity.
CREATE TABLE places (
    id BIGSERIAL PRIMARY KEY,
    performance_id BIGINT NOT NULL REFERENCES performances(id),
    seat_id BIGINT REFERENCES seats(id),
    family TEXT NOT NULL DEFAULT '',
    state TEXT NOT NULL,
    cart_item_id BIGINT,
    ticket_id BIGINT,
    expires_at TEXT,
    created_at TEXT NOT NULL,
    UNIQUE (performance_id, seat_id)
);
CREATE INDEX places_perf_state ON places (performance_id, state);
CREATE INDEX places_item ON places (cart_item_id);
CREATE INDEX places_expiry ON places (state, expires_at);

CREATE TABLE orders (
    id BIGSERIAL PRIMARY KEY,
    season_id BIGINT NOT NULL REFERENCES seasons(id),
    number TEXT NOT NULL UNIQUE,
    cart_id BIGINT NOT NULL UNIQUE REFERENCES carts(id),
    payer_contact_id BIGINT NOT NULL REFERENCES contacts(id),
    channel TEXT NOT NULL,
    operator_id BIGINT,
    status TEXT NOT NULL,
    option_until TEXT,
    total_cents BIGINT NOT NULL,
    created_at TEXT NOT NULL
);

CREATE TABLE tickets (
    id BIGSERIAL PRIMARY KEY,
    order_id BIGINT NOT NULL REFERENCES orders(id),
    season_id BIGINT NOT NULL REFERENCES seasons(id),
    number TEXT NOT NULL UNIQUE,
    performance_id BIGINT NOT NULL REFERENCES performances(id),
    seat_id BIGINT REFERENCES seats(id),
    family TEXT NOT NULL DEFAULT '',
    price_category_id BIGINT REFERENCES price_categories(id),
    product_id BIGINT REFERENCES products(id),
    promo_code_id BIGINT REFERENCES promo_codes(id),
    amount_cents BIGINT NOT NULL,
    vat_rate_bp BIGINT NOT NULL,
    status TEXT NOT NULL,
    barcode_version BIGINT NOT NULL DEFAULT 1,
    spectator TEXT NOT NULL DEFAULT '',
    cart_item_id BIGINT,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE INDEX tickets_order ON tickets (order_id);
CREATE INDEX tickets_cart_item ON tickets (cart_item_id);
CREATE INDEX tickets_perf ON tickets (performance_id);

CREATE TABLE order_lines (
    id BIGSERIAL PRIMARY KEY,
    order_id BIGINT NOT NULL REFERENCES orders(id),
    product_id BIGINT NOT NULL REFERENCES products(id),
    quantity BIGINT NOT NULL,
    amount_cents BIGINT NOT NULL,
    vat_rate_bp BIGINT NOT NULL,
    created_at TEXT NOT NULL
);

-- Append-only: refunds are negative amounts.
CREATE TABLE payments (
    id BIGSERIAL PRIMARY KEY,
    order_id BIGINT NOT NULL REFERENCES orders(id),
    method TEXT NOT NULL REFERENCES payment_methods(code),
    amount_cents BIGINT NOT NULL,
    operator_id BIGINT,
    created_at TEXT NOT NULL
);
CREATE INDEX payments_order ON payments (order_id);

CREATE TABLE waitlist (
    id BIGSERIAL PRIMARY KEY,
    performance_id BIGINT NOT NULL REFERENCES performances(id),
    price_category_id BIGINT REFERENCES price_categories(id),
    quantity BIGINT NOT NULL,
    last_name TEXT NOT NULL,
    first_name TEXT NOT NULL DEFAULT '',
    email TEXT NOT NULL DEFAULT '',
    phone TEXT NOT NULL DEFAULT '',
    channel TEXT NOT NULL,
    created_at TEXT NOT NULL,
    notified_at TEXT
);
CREATE INDEX waitlist_perf ON waitlist (performance_id, created_at);
