//! The states of sales (tickets, orders, carts, an order's payment) and the sale channels, as
//! closed lists (see [`crate::codes`]): every comparison is against a variant, never a string.

crate::code_enum! {
    /// A ticket's status. An exchanged, refunded or cancelled ticket is `cancelled` (its code
    /// revoked by a version bump); a reissued one stays `valid` with a newer version.
    pub enum TicketStatus {
        /// Admits its holder (once its order is paid, or while an option runs).
        Valid = "valid" / "Valide",
        /// No longer admits anyone.
        Cancelled = "cancelled" / "Annulé",
    }
}

crate::code_enum! {
    /// An order's status.
    pub enum OrderStatus {
        /// Places kept until a date, to be paid.
        Option = "option" / "Option",
        /// Sold.
        Confirmed = "confirmed" / "Confirmée",
        /// Cancelled: every ticket cancelled.
        Cancelled = "cancelled" / "Annulée",
    }
}

crate::code_enum! {
    /// Where an order's payments stand against what it owes (computed, never stored).
    pub enum PaymentStatus {
        /// Payments equal what is due.
        Paid = "paid" / "Réglée",
        /// Something is left to pay.
        Underpaid = "underpaid" / "Reste à payer",
        /// Money is to be given back.
        Overpaid = "overpaid" / "Trop-perçu",
    }
}

crate::code_enum! {
    /// A cart's status.
    pub enum CartStatus {
        /// Being filled; its holds run until `expires_at`.
        Open = "open" / "Ouvert",
        /// Checked out into an order.
        Ordered = "ordered" / "Commandé",
        /// Expired: its holds were released.
        Expired = "expired" / "Expiré",
    }
}

crate::code_enum! {
    /// Sale channels.
    pub enum Channel {
        /// At the box-office counter.
        Counter = "counter" / "Guichet",
        /// By phone.
        Phone = "phone" / "Téléphone",
        /// Online.
        Web = "web" / "Web",
    }
}
