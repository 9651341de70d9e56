//! Cursor paging for the List RPCs. A page token is the opaque (base64url) sort key of the last
//! item of the previous page, so inserts and deletes between pages never repeat or skip items.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

use crate::error::{ServiceError, ServiceResult};

pub const DEFAULT_PAGE_SIZE: usize = 50;
pub const MAX_PAGE_SIZE: usize = 500;
/// Encoded bytes of one page's items: well under the 4 MiB a gRPC client decodes by default, so
/// a few large items (wide datasets, many classes) shorten the page instead of breaking listing.
pub const MAX_PAGE_BYTES: usize = 2 * 1024 * 1024;

/// One page of `items`, which must be sorted by `key` in list order (keys unique), holding at
/// most `page_size` items and [`MAX_PAGE_BYTES`] of them by `bytes` (at least one). Returns the
/// page and the next page token (empty on the last page).
pub fn page<T>(
    items: Vec<T>,
    key: impl Fn(&T) -> String,
    bytes: impl Fn(&T) -> usize,
    page_size: u32,
    token: &str,
    descending: bool,
) -> ServiceResult<(Vec<T>, String)> {
    let size = match page_size as usize {
        0 => DEFAULT_PAGE_SIZE,
        n => n.min(MAX_PAGE_SIZE),
    };
    let after = if token.is_empty() {
        None
    } else {
        let bytes = URL_SAFE_NO_PAD.decode(token).map_err(|_| {
            ServiceError::InvalidArgument("page_token is not a token this server issued".into())
        })?;
        Some(String::from_utf8(bytes).map_err(|_| {
            ServiceError::InvalidArgument("page_token is not a token this server issued".into())
        })?)
    };
    let mut rest: Vec<T> = items
        .into_iter()
        .filter(|item| match &after {
            None => true,
            Some(a) if descending => key(item).as_str() < a.as_str(),
            Some(a) => key(item).as_str() > a.as_str(),
        })
        .collect();
    let mut total = 0usize;
    let fits = rest
        .iter()
        .take(size)
        .position(|item| {
            total = total.saturating_add(bytes(item));
            total > MAX_PAGE_BYTES
        })
        .map_or(size, |i| i.max(1));
    let more = rest.len() > fits;
    rest.truncate(fits);
    let next = match (more, rest.last()) {
        (true, Some(last)) => URL_SAFE_NO_PAD.encode(key(last)),
        _ => String::new(),
    };
    Ok((rest, next))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pages_cover_everything_once_and_bad_tokens_are_invalid() {
        let items: Vec<String> = (0..7).rev().map(|i| format!("k{i}")).collect();
        let mut seen = Vec::new();
        let mut token = String::new();
        loop {
            let (page, next) =
                page(items.clone(), |s| s.clone(), |_| 1, 3, &token, true).expect("page");
            assert!(page.len() <= 3);
            seen.extend(page);
            if next.is_empty() {
                break;
            }
            token = next;
        }
        assert_eq!(seen, items);
        assert!(matches!(
            page(items, |s| s.clone(), |_| 1, 3, "%%%", true),
            Err(ServiceError::InvalidArgument(_))
        ));
    }

    #[test]
    fn large_items_shorten_the_page_but_every_item_is_listed_once() {
        let items: Vec<String> = (0..5).rev().map(|i| format!("k{i}")).collect();
        let bytes = |_: &String| MAX_PAGE_BYTES / 2 + 1;
        let mut seen = Vec::new();
        let mut token = String::new();
        loop {
            let (page, next) =
                page(items.clone(), |s| s.clone(), bytes, 50, &token, true).expect("page");
            assert_eq!(page.len(), 1, "two items would exceed the byte budget");
            seen.extend(page);
            if next.is_empty() {
                break;
            }
            token = next;
        }
        assert_eq!(seen, items);
    }
}
