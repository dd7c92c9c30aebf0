//! Products in a cart: formules with their chosen performances (one ticket per
//! show at the formule price of the show's category), passes, cards, billet suspendu, annex
//! products and gift cards.

use super::carts::{
    check_on_sale, get_cart, hold_tickets, insert_item, open_cart_tx, refresh, ticket_price, Cart, NewItem, ProductRequest,
};
use crate::catalog::{performances, prices, Performance};
use crate::error::{CoreError, Result};
use crate::money::Money;
use crate::seating::inventory;
use crate::store::{Actor, Change, Store};

/// Adds a product: a formule with its chosen performances (one ticket per show at the
/// formule price for the show's category), a pass, a card, a billet suspendu, an annex
/// product or a gift card.
pub async fn add_product(
    store: &Store,
    actor: &Actor,
    cart_id: i64,
    req: &ProductRequest,
    ttl_seconds: i64,
) -> Result<(Cart, Option<String>)> {
    let product = prices::list_products(store, None)
        .await?
        .into_iter()
        .find(|p| p.id == req.product_id && p.active)
        .ok_or_else(|| CoreError::invalid("product_id", "produit inconnu"))?;
    let qty = req.quantity.unwrap_or(1);
    if !(1..=super::carts::MAX_PLACES_PER_REQUEST).contains(&qty) {
        return Err(CoreError::invalid("quantity", "quantité entre 1 et 50"));
    }
    if product.kind == "formule" {
        return add_formule(store, actor, cart_id, &product, req, ttl_seconds).await;
    }
    let unit = match product.kind.as_str() {
        "gift_card" => req
            .amount
            .filter(|a| a.is_positive() && a.within_entry_bounds())
            .ok_or_else(|| CoreError::invalid("amount", "montant de la carte cadeau obligatoire (100 000 € au plus)"))?,
        _ if req.reduced.unwrap_or(false) => product
            .reduced_price
            .ok_or_else(|| CoreError::invalid("reduced", "pas de prix réduit pour ce produit"))?,
        _ => product.price.ok_or_else(|| CoreError::invalid("product_id", "produit sans prix"))?,
    };
    let (mut tx, _) = open_cart_tx(store, actor, cart_id).await?;
    refresh(&mut tx, cart_id, ttl_seconds).await?;
    let id = insert_item(
        &mut tx,
        NewItem {
            cart_id,
            kind: "product",
            performance_id: None,
            seat_id: None,
            family: "",
            price_category_id: None,
            product_id: Some(product.id),
            parent_item_id: None,
            unit,
            vat_rate_bp: product.vat_rate_bp,
            quantity: qty,
            spectator: "",
        },
    )
    .await?;
    tx.record(
        Change::new("cart.add_product", "cart", cart_id)
            .after(&serde_json::json!({ "item_id": id, "product_id": product.id, "quantity": qty })),
        None,
    )
    .await?;
    tx.commit().await?;
    Ok((get_cart(store, cart_id).await?, None))
}

async fn add_formule(
    store: &Store,
    actor: &Actor,
    cart_id: i64,
    product: &prices::Product,
    req: &ProductRequest,
    ttl_seconds: i64,
) -> Result<(Cart, Option<String>)> {
    let size = product.size.unwrap_or(0) as usize;
    let ids = req.performance_ids.clone().unwrap_or_default();
    if ids.len() != size {
        return Err(CoreError::invalid(
            "performance_ids",
            format!("une {} compte {size} spectacles : {} séance(s) choisie(s)", product.name, ids.len()),
        ));
    }
    let cats = prices::list_price_categories(store).await?;
    let cat = match req.price_category_id {
        Some(id) => cats.iter().find(|c| c.id == id),
        None => cats.iter().find(|c| c.code == "full"),
    }
    .ok_or_else(|| CoreError::invalid("price_category_id", "tarif inconnu"))?;
    let mut perfs = Vec::new();
    for id in &ids {
        let p = performances::get_performance(store, *id)
            .await
            .map_err(|_| CoreError::invalid("performance_ids", format!("séance {id} introuvable")))?;
        if perfs.iter().any(|q: &Performance| q.show_id == p.show_id) {
            return Err(CoreError::invalid(
                "performance_ids",
                format!("une seule séance par spectacle (« {} » choisi deux fois)", p.show_name),
            ));
        }
        perfs.push(p);
    }
    let (mut tx, channel) = open_cart_tx(store, actor, cart_id).await?;
    if channel == super::Channel::Web && cat.needs_proof {
        return Err(CoreError::Conflict(format!("le tarif « {} » exige un justificatif", cat.name)));
    }
    let expires = refresh(&mut tx, cart_id, ttl_seconds).await?;
    let parent = insert_item(
        &mut tx,
        NewItem {
            cart_id,
            kind: "product",
            performance_id: None,
            seat_id: None,
            family: "",
            price_category_id: Some(cat.id),
            product_id: Some(product.id),
            parent_item_id: None,
            unit: Money::ZERO,
            vat_rate_bp: product.vat_rate_bp,
            quantity: 1,
            spectator: "",
        },
    )
    .await?;
    // Lock every performance first, in id order, so two formules never wait on each other.
    let mut lock_ids: Vec<i64> = perfs.iter().map(|p| p.id).collect();
    lock_ids.sort_unstable();
    for id in lock_ids {
        inventory::lock(&mut tx, id).await?;
    }
    let mut messages = Vec::new();
    for p in &perfs {
        check_on_sale(p, channel)?;
        let (unit, vat) = ticket_price(store, p.show_id, cat.id).await?;
        if let Some(m) = hold_tickets(
            store,
            &mut tx,
            cart_id,
            p,
            "",
            1,
            None,
            false,
            false,
            &[(Some(cat.id), unit, vat)],
            (Some(product.id), Some(parent)),
            &[],
            &expires,
        )
        .await?
        {
            messages.push(m);
        }
    }
    tx.commit().await?;
    Ok((get_cart(store, cart_id).await?, (!messages.is_empty()).then(|| messages.join(" "))))
}
