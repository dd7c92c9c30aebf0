//! Signed ticket payloads: what a ticket's QR code says, signed with Ed25519 so an offline
//! scanner can tell a genuine ticket from a forged or edited one with only a public key.
//!
//! The payload is a fixed binary record (big-endian):
//! `ver(1) | key_id(1) | ticket_id(8) | performance_id(4) | seat_id(4, 0 = none) | barcode_version(2)`
//! followed by the 64-byte Ed25519 signature over those 20 bytes. The 84 bytes are written in
//! uppercase base32 without padding (135 characters of `[A-Z2-7]`), so the QR code uses its
//! compact alphanumeric mode.
//!
//! `barcode_version` is bumped when a ticket is reissued: a QR code printed before the reissue
//! still verifies cryptographically, but carries the old version, so the entry control refuses it.
//! The `key_id` byte allows key rotation: scanners may hold several public keys.
//!
//! The secret seed never lives in the database ([`keys`]); checking a code against the
//! tickets' current state and listing revocations for offline scanners is [`control`].

pub mod control;
pub mod keys;

use data_encoding::{BASE32_NOPAD, BASE64URL_NOPAD, HEXLOWER, HEXLOWER_PERMISSIVE};
use ed25519_dalek::{Signature, Signer, SigningKey, VerifyingKey};

/// Version of the payload layout written by [`TicketSigner::sign`].
pub const PAYLOAD_VERSION: u8 = 1;

/// Length of the signed part of the payload.
const BODY_LEN: usize = 20;
/// Length of an Ed25519 signature.
const SIG_LEN: usize = 64;
/// Length of the whole binary payload.
const PAYLOAD_LEN: usize = BODY_LEN + SIG_LEN;
/// Length of the QR text: 84 bytes in base32 without padding.
const TEXT_LEN: usize = (PAYLOAD_LEN * 8).div_ceil(5);

/// Id of the installation's signing key (see [`keys`]).
pub const KEY_ID: u8 = 1;
/// The signature algorithm, as named to scanners.
pub const ALGORITHM: &str = "Ed25519";

/// What a ticket's QR code says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TicketClaim {
    /// The ticket (its number), always positive.
    pub ticket_id: i64,
    /// The performance it admits to (1 to 4 294 967 295).
    pub performance_id: i64,
    /// The seat, or `None` for unreserved seating (1 to 4 294 967 295).
    pub seat_id: Option<i64>,
    /// Bumped at each reissue of the ticket (0 to 65 535).
    pub barcode_version: u32,
}

/// Why a ticket code could not be produced or was refused.
#[derive(Debug, thiserror::Error)]
pub enum AccessError {
    /// The text is not a ticket code at all (wrong length, characters outside base32…).
    #[error("code de billet illisible : {0}")]
    Malformed(String),
    /// The code was written with a payload layout this version does not know.
    #[error("format de code de billet inconnu (version {0})")]
    UnsupportedVersion(u8),
    /// The code was signed with a key this verifier does not hold.
    #[error("code de billet signé avec une clé inconnue (clé n° {0})")]
    UnknownKey(u8),
    /// The signature does not match: forged or altered ticket.
    #[error("signature du billet invalide : billet falsifié ou modifié")]
    BadSignature,
    /// A value of the ticket cannot be written in the code.
    #[error("impossible de coder le billet : {field} = {value} hors des limites ({limits})")]
    OutOfRange {
        /// Which field.
        field: &'static str,
        /// The value refused.
        value: i64,
        /// The accepted range, in words.
        limits: &'static str,
    },
    /// The secret key (seed) is not 64 hexadecimal characters.
    #[error("clé secrète de signature invalide : {0}")]
    BadSeed(String),
    /// The public key given to a scanner is not a valid Ed25519 key.
    #[error("clé publique de contrôle invalide")]
    BadPublicKey,
    /// The key file or the key given by environment cannot be used.
    #[error("clé de signature des billets : {0}")]
    KeyStore(String),
}

impl From<AccessError> for crate::error::CoreError {
    fn from(e: AccessError) -> Self {
        crate::error::CoreError::Internal(e.to_string())
    }
}

/// Signs and verifies ticket codes with one Ed25519 key.
pub struct TicketSigner {
    key_id: u8,
    key: SigningKey,
}

impl std::fmt::Debug for TicketSigner {
    /// Shows the key id and the public key, never the secret.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TicketSigner")
            .field("key_id", &self.key_id)
            .field("public_key", &self.public_key_base64url())
            .finish()
    }
}

impl TicketSigner {
    /// A signer from a 32-byte secret seed.
    pub fn from_seed(key_id: u8, seed: [u8; 32]) -> Self {
        TicketSigner {
            key_id,
            key: SigningKey::from_bytes(&seed),
        }
    }

    /// A signer from a seed written as 64 hexadecimal characters (either case).
    pub fn from_seed_hex(key_id: u8, hex: &str) -> Result<Self, AccessError> {
        let bytes = HEXLOWER_PERMISSIVE
            .decode(hex.trim().as_bytes())
            .map_err(|_| AccessError::BadSeed("caractères hexadécimaux attendus".into()))?;
        let seed: [u8; 32] = bytes
            .try_into()
            .map_err(|b: Vec<u8>| AccessError::BadSeed(format!("32 octets attendus, {} reçus", b.len())))?;
        Ok(Self::from_seed(key_id, seed))
    }

    /// A new random seed from the operating system, as 64 lowercase hexadecimal characters.
    pub fn generate_seed_hex() -> String {
        use argon2::password_hash::rand_core::{OsRng, RngCore};
        let mut seed = [0u8; 32];
        OsRng.fill_bytes(&mut seed);
        HEXLOWER.encode(&seed)
    }

    /// The id written in every code this signer produces.
    pub fn key_id(&self) -> u8 {
        self.key_id
    }

    /// The public key in base64url without padding, to configure the scanners.
    pub fn public_key_base64url(&self) -> String {
        BASE64URL_NOPAD.encode(self.key.verifying_key().as_bytes())
    }

    /// The QR text of `claim`.
    ///
    /// Returns a `Result` because the compact layout has fixed-size fields: it refuses a
    /// `ticket_id` below 1, a `performance_id` or `seat_id` outside 1..=4 294 967 295 and a
    /// `barcode_version` above 65 535 ([`AccessError::OutOfRange`]).
    pub fn sign(&self, claim: &TicketClaim) -> Result<String, AccessError> {
        let body = encode_body(self.key_id, claim)?;
        let signature = self.key.sign(&body);
        let mut payload = Vec::with_capacity(PAYLOAD_LEN);
        payload.extend_from_slice(&body);
        payload.extend_from_slice(&signature.to_bytes());
        Ok(BASE32_NOPAD.encode(&payload))
    }

    /// Checks a QR text signed by this signer's key and returns what it says.
    pub fn verify(&self, qr_text: &str) -> Result<TicketClaim, AccessError> {
        verify_with_key(self.key_id, &self.key.verifying_key(), qr_text)
    }
}

/// Verifies with only public keys (offline scanner side).
pub fn verify_with_public_key(key_id: u8, public_key: &[u8; 32], qr_text: &str) -> Result<TicketClaim, AccessError> {
    let key = VerifyingKey::from_bytes(public_key).map_err(|_| AccessError::BadPublicKey)?;
    verify_with_key(key_id, &key, qr_text)
}

/// The 20 signed bytes of `claim`.
fn encode_body(key_id: u8, claim: &TicketClaim) -> Result<[u8; BODY_LEN], AccessError> {
    const U32_LIMITS: &str = "de 1 à 4 294 967 295";
    if claim.ticket_id < 1 {
        return Err(AccessError::OutOfRange {
            field: "ticket_id",
            value: claim.ticket_id,
            limits: "1 au minimum",
        });
    }
    let positive_u32 = |field: &'static str, value: i64| match u32::try_from(value) {
        Ok(v) if v > 0 => Ok(v),
        _ => Err(AccessError::OutOfRange {
            field,
            value,
            limits: U32_LIMITS,
        }),
    };
    let performance = positive_u32("performance_id", claim.performance_id)?;
    let seat = match claim.seat_id {
        Some(s) => positive_u32("seat_id", s)?,
        None => 0,
    };
    let barcode_version = u16::try_from(claim.barcode_version).map_err(|_| AccessError::OutOfRange {
        field: "barcode_version",
        value: i64::from(claim.barcode_version),
        limits: "de 0 à 65 535",
    })?;
    let mut body = [0u8; BODY_LEN];
    body[0] = PAYLOAD_VERSION;
    body[1] = key_id;
    body[2..10].copy_from_slice(&claim.ticket_id.to_be_bytes());
    body[10..14].copy_from_slice(&performance.to_be_bytes());
    body[14..18].copy_from_slice(&seat.to_be_bytes());
    body[18..20].copy_from_slice(&barcode_version.to_be_bytes());
    Ok(body)
}

/// Decodes, checks version, key id and signature, then reads the claim.
fn verify_with_key(key_id: u8, key: &VerifyingKey, qr_text: &str) -> Result<TicketClaim, AccessError> {
    let text = qr_text.trim();
    if text.len() != TEXT_LEN {
        return Err(AccessError::Malformed(format!(
            "{TEXT_LEN} caractères attendus, {} reçus",
            text.chars().count()
        )));
    }
    let payload = BASE32_NOPAD
        .decode(text.to_ascii_uppercase().as_bytes())
        .map_err(|_| AccessError::Malformed("caractère non autorisé (A à Z et 2 à 7 attendus)".into()))?;
    let (body, sig) = payload
        .split_at_checked(BODY_LEN)
        .filter(|(_, sig)| sig.len() == SIG_LEN)
        .ok_or_else(|| AccessError::Malformed(format!("{PAYLOAD_LEN} octets attendus, {} reçus", payload.len())))?;
    if body[0] != PAYLOAD_VERSION {
        return Err(AccessError::UnsupportedVersion(body[0]));
    }
    if body[1] != key_id {
        return Err(AccessError::UnknownKey(body[1]));
    }
    let signature = Signature::from_slice(sig).map_err(|_| AccessError::BadSignature)?;
    key.verify_strict(body, &signature).map_err(|_| AccessError::BadSignature)?;
    let be8 = |r: std::ops::Range<usize>| body[r].iter().fold(0u64, |acc, b| (acc << 8) | u64::from(*b));
    let seat = be8(14..18);
    Ok(TicketClaim {
        ticket_id: be8(2..10) as i64,
        performance_id: be8(10..14) as i64,
        seat_id: (seat != 0).then_some(seat as i64),
        barcode_version: be8(18..20) as u32,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn claim() -> TicketClaim {
        TicketClaim {
            ticket_id: 1_234_567,
            performance_id: 42,
            seat_id: Some(310),
            barcode_version: 1,
        }
    }

    fn signer_a() -> TicketSigner {
        TicketSigner::from_seed(1, [7u8; 32])
    }

    #[test]
    fn round_trip() {
        let s = signer_a();
        let text = s.sign(&claim()).unwrap();
        assert_eq!(text.len(), TEXT_LEN);
        assert_eq!(s.verify(&text).unwrap(), claim());
        let free = TicketClaim {
            seat_id: None,
            ticket_id: i64::MAX,
            performance_id: i64::from(u32::MAX),
            barcode_version: u32::from(u16::MAX),
        };
        assert_eq!(s.verify(&s.sign(&free).unwrap()).unwrap(), free);
        // Scanners in keyboard mode may add a line break or send lowercase.
        assert_eq!(s.verify(&format!(" {}\r\n", text.to_lowercase())).unwrap(), claim());
    }

    #[test]
    fn text_is_uppercase_base32_only() {
        let text = signer_a().sign(&claim()).unwrap();
        assert!(text.bytes().all(|b| b.is_ascii_uppercase() || (b'2'..=b'7').contains(&b)), "{text}");
    }

    #[test]
    fn flipped_character_is_refused() {
        let s = signer_a();
        let text = s.sign(&claim()).unwrap();
        for i in [0, 3, 10, 20, 33, 60, 100, TEXT_LEN - 1] {
            let mut chars: Vec<char> = text.chars().collect();
            chars[i] = if chars[i] == 'A' { 'B' } else { 'A' };
            let bad: String = chars.into_iter().collect();
            assert!(s.verify(&bad).is_err(), "position {i} accepted");
        }
    }

    #[test]
    fn other_barcode_version_does_not_verify_as_old() {
        let s = signer_a();
        let old = s.sign(&claim()).unwrap();
        let reissued = TicketClaim {
            barcode_version: 2,
            ..claim()
        };
        let new = s.sign(&reissued).unwrap();
        assert_ne!(old, new);
        assert_eq!(s.verify(&new).unwrap().barcode_version, 2);
        assert_eq!(s.verify(&old).unwrap().barcode_version, 1);
        // Splicing the new body onto the old signature does not pass.
        let old_bytes = BASE32_NOPAD.decode(old.as_bytes()).unwrap();
        let new_bytes = BASE32_NOPAD.decode(new.as_bytes()).unwrap();
        let spliced = [&new_bytes[..BODY_LEN], &old_bytes[BODY_LEN..]].concat();
        assert!(matches!(s.verify(&BASE32_NOPAD.encode(&spliced)), Err(AccessError::BadSignature)));
    }

    #[test]
    fn public_key_only_verification() {
        let s = signer_a();
        let text = s.sign(&claim()).unwrap();
        let pk: [u8; 32] = BASE64URL_NOPAD
            .decode(s.public_key_base64url().as_bytes())
            .unwrap()
            .try_into()
            .unwrap();
        assert_eq!(verify_with_public_key(1, &pk, &text).unwrap(), claim());
        assert!(matches!(verify_with_public_key(2, &pk, &text), Err(AccessError::UnknownKey(1))));
        let other: [u8; 32] = TicketSigner::from_seed(1, [9u8; 32]).key.verifying_key().to_bytes();
        assert!(matches!(verify_with_public_key(1, &other, &text), Err(AccessError::BadSignature)));
    }

    #[test]
    fn malformed_inputs_are_refused() {
        let s = signer_a();
        let text = s.sign(&claim()).unwrap();
        assert!(matches!(s.verify(""), Err(AccessError::Malformed(_))));
        assert!(matches!(s.verify(&text[1..]), Err(AccessError::Malformed(_))));
        assert!(matches!(s.verify(&format!("{text}A")), Err(AccessError::Malformed(_))));
        let with_digit = format!("1{}", &text[1..]);
        assert!(matches!(s.verify(&with_digit), Err(AccessError::Malformed(_))));
        let accented = format!("É{}", &text[2..]);
        assert!(matches!(s.verify(&accented), Err(AccessError::Malformed(_))));
        // Another key id, another payload version.
        let other_key = TicketSigner::from_seed(3, [7u8; 32]).sign(&claim()).unwrap();
        assert!(matches!(s.verify(&other_key), Err(AccessError::UnknownKey(3))));
        let mut bytes = BASE32_NOPAD.decode(text.as_bytes()).unwrap();
        bytes[0] = 9;
        assert!(matches!(
            s.verify(&BASE32_NOPAD.encode(&bytes)),
            Err(AccessError::UnsupportedVersion(9))
        ));
    }

    #[test]
    fn out_of_range_claims_are_refused_at_signing() {
        let s = signer_a();
        let cases = [
            TicketClaim { ticket_id: 0, ..claim() },
            TicketClaim {
                performance_id: i64::from(u32::MAX) + 1,
                ..claim()
            },
            TicketClaim {
                performance_id: -1,
                ..claim()
            },
            TicketClaim {
                seat_id: Some(0),
                ..claim()
            },
            TicketClaim {
                seat_id: Some(1 << 40),
                ..claim()
            },
            TicketClaim {
                barcode_version: 65_536,
                ..claim()
            },
        ];
        for c in cases {
            let err = s.sign(&c).unwrap_err();
            assert!(matches!(err, AccessError::OutOfRange { .. }), "{c:?}");
            assert!(err.to_string().starts_with("impossible de coder le billet"));
        }
    }

    #[test]
    fn seeds_in_hex() {
        let hex = TicketSigner::generate_seed_hex();
        assert_eq!(hex.len(), 64);
        assert_ne!(hex, TicketSigner::generate_seed_hex());
        let a = TicketSigner::from_seed_hex(1, &hex).unwrap();
        let b = TicketSigner::from_seed_hex(1, &hex.to_uppercase()).unwrap();
        assert_eq!(a.public_key_base64url(), b.public_key_base64url());
        assert_eq!(a.public_key_base64url().len(), 43);
        assert!(matches!(TicketSigner::from_seed_hex(1, "zz"), Err(AccessError::BadSeed(_))));
        assert!(matches!(TicketSigner::from_seed_hex(1, &hex[..62]), Err(AccessError::BadSeed(_))));
        assert!(!format!("{a:?}").contains(&hex));
    }
}
