//! The named permissions roles are made of. Routes and API calls check these names.

/// A permission name such as `catalog.edit`.
pub type Permission = &'static str;

/// Reading the catalogue: shows, performances, halls, prices.
pub const CATALOG_READ: Permission = "catalog.read";
/// Creating and editing the catalogue.
pub const CATALOG_EDIT: Permission = "catalog.edit";
/// Selling at the box office.
pub const SALES_SELL: Permission = "sales.sell";
/// Reading the audience file.
pub const CRM_READ: Permission = "crm.read";
/// Editing the audience file.
pub const CRM_WRITE: Permission = "crm.write";
/// Sending communications.
pub const COMMUNICATION_SEND: Permission = "communication.send";
/// Reading accounting states.
pub const ACCOUNTING_READ: Permission = "accounting.read";
/// Closing cash registers and periods.
pub const ACCOUNTING_CLOSE: Permission = "accounting.close";
/// Querying the warehouse.
pub const WAREHOUSE_QUERY: Permission = "warehouse.query";
/// Reading the raw `events` table of the warehouse (every fact as logged, with its payload).
pub const WAREHOUSE_EVENTS: Permission = "warehouse.events";
/// Checking tickets at the door: verifying codes, reading the public keys and revocations.
pub const ACCESS_SCAN: Permission = "access.scan";
/// Managing users, roles and reading the audit log.
pub const ADMIN_USERS: Permission = "admin.users";

/// Every permission with its French label, in display order.
pub const PERMISSIONS: &[(Permission, &str)] = &[
    (CATALOG_READ, "Consulter le catalogue (spectacles, séances, salles, tarifs)"),
    (CATALOG_EDIT, "Modifier le catalogue"),
    (SALES_SELL, "Vendre (billetterie)"),
    (CRM_READ, "Consulter le fichier des publics"),
    (CRM_WRITE, "Modifier le fichier des publics"),
    (COMMUNICATION_SEND, "Envoyer des communications"),
    (ACCOUNTING_READ, "Consulter les états comptables"),
    (ACCOUNTING_CLOSE, "Clôturer les caisses et les périodes"),
    (WAREHOUSE_QUERY, "Interroger l'entrepôt de données"),
    (WAREHOUSE_EVENTS, "Lire les événements bruts"),
    (ACCESS_SCAN, "Contrôler les billets"),
    (ADMIN_USERS, "Gérer les utilisateurs, les profils et le journal d'audit"),
];

/// True when `name` is a permission Parterre knows.
pub fn is_known(name: &str) -> bool {
    PERMISSIONS.iter().any(|(p, _)| *p == name)
}

/// The French label of a permission.
pub fn label(name: &str) -> &'static str {
    PERMISSIONS
        .iter()
        .find(|(p, _)| *p == name)
        .map(|(_, l)| *l)
        .unwrap_or("permission inconnue")
}
