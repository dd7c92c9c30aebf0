-- Contacts' postal code and city: where the audience comes from (R-10, R-12 statistics).
ALTER TABLE contacts ADD COLUMN postal_code TEXT NOT NULL DEFAULT '';
ALTER TABLE contacts ADD COLUMN city TEXT NOT NULL DEFAULT '';
CREATE INDEX contacts_postal_code ON contacts (postal_code);
