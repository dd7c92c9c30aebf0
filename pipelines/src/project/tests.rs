//! Unit tests of the projection's rules: codes for every label, price families.
use super::*;
use parterre_core::catalog::{Discipline, Tier, AUDIENCES};
use parterre_core::sales::Channel;
use parterre_warehouse::codes::Dim;

/// Every label the projection can write in a coded column has its code: a new variant of a
/// core list without one would stop the pipeline.
#[test]
fn every_label_the_projection_writes_has_a_code() {
    for c in Channel::ALL {
        assert!(Dim::Channel.code(c.code()).is_some(), "channel {}", c.code());
    }
    let statuses = TicketStatus::ALL
        .iter()
        .map(|s| s.code())
        .chain(OrderStatus::ALL.iter().map(|s| s.code()))
        .chain(PlaceState::ALL.iter().map(|p| ticket_status(*p)))
        .chain(parterre_core::sales::CartStatus::ALL.iter().map(|s| s.code()))
        .chain([rollups::EXCHANGED]);
    for s in statuses {
        assert!(Dim::Status.code(s).is_some(), "status {s}");
    }
    for d in Discipline::ALL {
        assert!(Dim::Discipline.code(d.code()).is_some(), "discipline {}", d.code());
    }
    for t in Tier::ALL {
        assert!(Dim::Tier.code(t.code()).is_some(), "tier {}", t.code());
    }
    for (a, _) in AUDIENCES {
        assert!(Dim::Audience.code(a).is_some(), "audience {a}");
    }
    let kinds = parterre_core::catalog::PRODUCT_KINDS.iter().map(|(k, _)| Some(*k)).chain([None]);
    for kind in kinds {
        for cat in [
            None,
            Some("full"),
            Some("reduced"),
            Some("school"),
            Some("pass_culture"),
            Some("invitation"),
        ] {
            for state in PlaceState::ALL {
                let f = price_family(*state, kind, cat);
                assert!(Dim::PriceFamily.code(f).is_some(), "price family {f}");
            }
        }
    }
}

#[test]
fn price_families_follow_what_sold_the_ticket() {
    assert_eq!(price_family(PlaceState::Sold, None, Some("full")), "full");
    assert_eq!(price_family(PlaceState::Sold, None, Some("under30")), "reduced");
    assert_eq!(price_family(PlaceState::Sold, Some("formule"), Some("full")), "formule");
    assert_eq!(price_family(PlaceState::Invitation, None, Some("full")), "invitation");
    assert_eq!(price_family(PlaceState::Sold, None, Some("school")), "school");
    assert_eq!(price_family(PlaceState::Option, None, None), "full");
}
