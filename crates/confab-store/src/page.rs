//! Keyset pagination: a page is asked for by an optional cursor (a key and a direction) and a
//! size, so following pages is stable under concurrent inserts and costs one index seek.

/// Listing order by key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Order {
    /// Oldest first.
    #[default]
    Asc,
    /// Newest first.
    Desc,
}

/// Where a page starts, relative to a key, in the listing's order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cursor {
    /// The items that follow `key` in the listing order (next page).
    After(i64),
    /// The items that precede `key` in the listing order (previous page).
    Before(i64),
}

impl Cursor {
    /// The cursor as a page token (`PA12`: after key 12, `PB12`: before it), the form both
    /// the REST API's `PageToken` and the realtime `pageToken` use.
    pub fn to_token(self) -> String {
        match self {
            Cursor::After(k) => format!("PA{k}"),
            Cursor::Before(k) => format!("PB{k}"),
        }
    }

    /// Reads a page token made by [`Cursor::to_token`]; `None` for anything else.
    pub fn from_token(t: &str) -> Option<Cursor> {
        let (kind, key) = t.split_at_checked(2)?;
        let key: i64 = key.parse().ok()?;
        match kind {
            "PA" => Some(Cursor::After(key)),
            "PB" => Some(Cursor::Before(key)),
            _ => None,
        }
    }
}

/// A page request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PageRequest {
    /// Items per page, already clamped by the caller.
    pub size: u32,
    /// Order of the listing.
    pub order: Order,
    /// Start of the page; `None` is the first page.
    pub cursor: Option<Cursor>,
}

/// One page, always in listing order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Page<T> {
    /// The items.
    pub items: Vec<T>,
    /// Key of the first item, for a `Before` cursor.
    pub first_key: Option<i64>,
    /// Key of the last item, for an `After` cursor.
    pub last_key: Option<i64>,
    /// True if items exist past the last one in listing order.
    pub has_next: bool,
    /// True if items exist before the first one in listing order.
    pub has_previous: bool,
}

impl<T> Page<T> {
    /// Builds a page from rows fetched with [`PageRequest::fetch_plan`]: `rows` hold up to
    /// `size + 1` `(key, item)` pairs in fetch order.
    pub fn from_rows(req: &PageRequest, mut rows: Vec<(i64, T)>) -> Page<T> {
        let size = req.size as usize;
        let more = rows.len() > size;
        rows.truncate(size);
        let backwards = matches!(req.cursor, Some(Cursor::Before(_)));
        if backwards {
            rows.reverse();
        }
        let first_key = rows.first().map(|r| r.0);
        let last_key = rows.last().map(|r| r.0);
        let (has_next, has_previous) = match req.cursor {
            None => (more, false),
            Some(Cursor::After(_)) => (more, true),
            Some(Cursor::Before(_)) => (true, more),
        };
        Page {
            items: rows.into_iter().map(|r| r.1).collect(),
            first_key,
            last_key,
            has_next,
            has_previous,
        }
    }
}

/// How a backend fetches a page: a key bound, a scan direction and a row limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FetchPlan {
    /// `Some((key, true))`: keys greater than `key`; `Some((key, false))`: keys less than it.
    pub bound: Option<(i64, bool)>,
    /// Scan ascending by key.
    pub ascending: bool,
    /// Rows to fetch: the page size plus one, to learn whether more exist.
    pub limit: u32,
}

impl PageRequest {
    /// The scan that yields this page: see [`FetchPlan`]. Feed the rows to [`Page::from_rows`].
    pub fn fetch_plan(&self) -> FetchPlan {
        let asc = self.order == Order::Asc;
        let (bound, ascending) = match self.cursor {
            None => (None, asc),
            Some(Cursor::After(k)) => (Some((k, asc)), asc),
            Some(Cursor::Before(k)) => (Some((k, !asc)), !asc),
        };
        FetchPlan {
            bound,
            ascending,
            limit: self.size.saturating_add(1),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Pages over a Vec of keys, the model the plan must match.
    fn page_of(keys: &[i64], req: PageRequest) -> Page<i64> {
        let plan = req.fetch_plan();
        let mut rows: Vec<i64> = keys
            .iter()
            .copied()
            .filter(|k| match plan.bound {
                None => true,
                Some((b, true)) => *k > b,
                Some((b, false)) => *k < b,
            })
            .collect();
        rows.sort();
        if !plan.ascending {
            rows.reverse();
        }
        rows.truncate(plan.limit as usize);
        Page::from_rows(&req, rows.into_iter().map(|k| (k, k)).collect())
    }

    #[test]
    fn walking_forward_then_back_visits_every_key_once_in_both_orders() {
        let keys: Vec<i64> = (1..=23).collect();
        for order in [Order::Asc, Order::Desc] {
            let mut seen = vec![];
            let mut pages = vec![];
            let mut req = PageRequest {
                size: 5,
                order,
                cursor: None,
            };
            loop {
                let p = page_of(&keys, req);
                seen.extend(p.items.iter().copied());
                pages.push(p.items.clone());
                if !p.has_next {
                    break;
                }
                req.cursor = Some(Cursor::After(p.last_key.unwrap()));
            }
            let mut expect = keys.clone();
            if order == Order::Desc {
                expect.reverse();
            }
            assert_eq!(seen, expect);
            // And back from the last page to the first.
            let mut first = *pages.last().unwrap().first().unwrap();
            for want in pages.iter().rev().skip(1) {
                let p = page_of(
                    &keys,
                    PageRequest {
                        size: 5,
                        order,
                        cursor: Some(Cursor::Before(first)),
                    },
                );
                assert_eq!(&p.items, want);
                first = p.first_key.unwrap();
            }
        }
    }
}
