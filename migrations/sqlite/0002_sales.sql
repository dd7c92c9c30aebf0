-- Sales core: contacts (minimal, extended by the CRM), payment methods, per-performance
-- inventory, carts, orders, tickets, payments, promo codes, waiting lists, sequences.
-- Same conventions as 0001: cents, basis points, UTC text timestamps, 0/1 flags.

CREATE TABLE contacts (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
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
    active INTEGER NOT NULL DEFAULT 1,
    sort_order INTEGER NOT NULL DEFAULT 0
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
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    code TEXT NOT NULL UNIQUE,
    batch TEXT,
    valid_from TEXT,
    valid_until TEXT,
    max_uses INTEGER,
    uses INTEGER NOT NULL DEFAULT 0,
    discount_percent INTEGER,
    discount_cents BIGINT,
    show_ids TEXT NOT NULL DEFAULT '',
    performance_ids TEXT NOT NULL DEFAULT '',
    price_category_ids TEXT NOT NULL DEFAULT '',
    created_at TEXT NOT NULL
);

CREATE TABLE carts (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    channel TEXT NOT NULL,
    operator_id INTEGER,
    status TEXT NOT NULL,
    promo_code_id INTEGER REFERENCES promo_codes(id),
    order_id INTEGER,
    created_at TEXT NOT NULL,
    expires_at TEXT NOT NULL
);
CREATE INDEX carts_open ON carts (status, expires_at);

CREATE TABLE cart_items (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    cart_id INTEGER NOT NULL REFERENCES carts(id),
    kind TEXT NOT NULL,
    performance_id INTEGER REFERENCES performances(id),
    seat_id INTEGER REFERENCES seats(id),
    family TEXT NOT NULL DEFAULT '',
    price_category_id INTEGER REFERENCES price_categories(id),
    product_id INTEGER REFERENCES products(id),
    parent_item_id INTEGER,
    unit_cents BIGINT NOT NULL,
    discount_cents BIGINT NOT NULL DEFAULT 0,
    vat_rate_bp INTEGER NOT NULL,
    quantity INTEGER NOT NULL DEFAULT 1,
    spectator TEXT NOT NULL DEFAULT '',
    created_at TEXT NOT NULL
);
CREATE INDEX cart_items_cart ON cart_items (cart_id);

-- A row per place taken: held (with its cart item and expiry), sold, option, invitation,
-- quota (numbered seats set aside for a family) or blocked. A numbered seat is available when
-- it has no row; the unique key is what makes a double sale impossible. Free placement rows
-- have no seat and are counted against the pool's capacity.
CREATE TABLE places (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    performance_id INTEGER NOT NULL REFERENCES performances(id),
    seat_id INTEGER REFERENCES seats(id),
    family TEXT NOT NULL DEFAULT '',
    state TEXT NOT NULL,
    cart_item_id INTEGER,
    ticket_id INTEGER,
    expires_at TEXT,
    created_at TEXT NOT NULL,
    UNIQUE (performance_id, seat_id)
);
CREATE INDEX places_perf_state ON places (performance_id, state);
CREATE INDEX places_item ON places (cart_item_id);
CREATE INDEX places_expiry ON places (state, expires_at);

CREATE TABLE orders (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    season_id INTEGER NOT NULL REFERENCES seasons(id),
    number TEXT NOT NULL UNIQUE,
    cart_id INTEGER NOT NULL UNIQUE REFERENCES carts(id),
    payer_contact_id INTEGER NOT NULL REFERENCES contacts(id),
    channel TEXT NOT NULL,
    operator_id INTEGER,
    status TEXT NOT NULL,
    option_until TEXT,
    total_cents BIGINT NOT NULL,
    created_at TEXT NOT NULL
);

CREATE TABLE tickets (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    order_id INTEGER NOT NULL REFERENCES orders(id),
    season_id INTEGER NOT NULL REFERENCES seasons(id),
    number TEXT NOT NULL UNIQUE,
    performance_id INTEGER NOT NULL REFERENCES performances(id),
    seat_id INTEGER REFERENCES seats(id),
    family TEXT NOT NULL DEFAULT '',
    price_category_id INTEGER REFERENCES price_categories(id),
    product_id INTEGER REFERENCES products(id),
    promo_code_id INTEGER REFERENCES promo_codes(id),
    amount_cents BIGINT NOT NULL,
    vat_rate_bp INTEGER NOT NULL,
    status TEXT NOT NULL,
    barcode_version INTEGER NOT NULL DEFAULT 1,
    spectator TEXT NOT NULL DEFAULT '',
    cart_item_id INTEGER,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE INDEX tickets_order ON tickets (order_id);
CREATE INDEX tickets_cart_item ON tickets (cart_item_id);
CREATE INDEX tickets_perf ON tickets (performance_id);

CREATE TABLE order_lines (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    order_id INTEGER NOT NULL REFERENCES orders(id),
    product_id INTEGER NOT NULL REFERENCES products(id),
    quantity INTEGER NOT NULL,
    amount_cents BIGINT NOT NULL,
    vat_rate_bp INTEGER NOT NULL,
    created_at TEXT NOT NULL
);

-- Append-only: refunds are negative amounts.
CREATE TABLE payments (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    order_id INTEGER NOT NULL REFERENCES orders(id),
    method TEXT NOT NULL REFERENCES payment_methods(code),
    amount_cents BIGINT NOT NULL,
    operator_id INTEGER,
    created_at TEXT NOT NULL
);
CREATE INDEX payments_order ON payments (order_id);

CREATE TABLE waitlist (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    performance_id INTEGER NOT NULL REFERENCES performances(id),
    price_category_id INTEGER REFERENCES price_categories(id),
    quantity INTEGER NOT NULL,
    last_name TEXT NOT NULL,
    first_name TEXT NOT NULL DEFAULT '',
    email TEXT NOT NULL DEFAULT '',
    phone TEXT NOT NULL DEFAULT '',
    channel TEXT NOT NULL,
    created_at TEXT NOT NULL,
    notified_at TEXT
);
CREATE INDEX waitlist_perf ON waitlist (performance_id, created_at);
