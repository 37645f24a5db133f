//! Pages of a listing, with the ways to the pages beside it (the reference's `Paginator`).

use std::sync::Arc;

use futures_util::future::BoxFuture;

use crate::client::ClientError;

/// Fetches the page on one side of a page.
pub(crate) type Step<T> =
    Arc<dyn Fn() -> BoxFuture<'static, Result<Paginator<T>, ClientError>> + Send + Sync>;

/// One page of a listing, in the listing's order, with the ways to the pages beside it.
pub struct Paginator<T> {
    /// The items of this page.
    pub items: Vec<T>,
    next: Option<Step<T>>,
    prev: Option<Step<T>>,
}

impl<T> Paginator<T> {
    pub(crate) fn new(items: Vec<T>, next: Option<Step<T>>, prev: Option<Step<T>>) -> Self {
        Paginator { items, next, prev }
    }

    /// Whether [`Paginator::next_page`] has a page to give.
    pub fn has_next_page(&self) -> bool {
        self.next.is_some()
    }

    /// Whether [`Paginator::prev_page`] has a page to give.
    pub fn has_prev_page(&self) -> bool {
        self.prev.is_some()
    }

    /// The next page; 20001 when there is none.
    pub async fn next_page(&self) -> Result<Paginator<T>, ClientError> {
        match &self.next {
            Some(step) => step().await,
            None => Err(ClientError::invalid("there is no next page")),
        }
    }

    /// The previous page; 20001 when there is none.
    pub async fn prev_page(&self) -> Result<Paginator<T>, ClientError> {
        match &self.prev {
            Some(step) => step().await,
            None => Err(ClientError::invalid("there is no previous page")),
        }
    }
}

impl<T: Clone> Clone for Paginator<T> {
    fn clone(&self) -> Self {
        Paginator {
            items: self.items.clone(),
            next: self.next.clone(),
            prev: self.prev.clone(),
        }
    }
}

impl<T: std::fmt::Debug> std::fmt::Debug for Paginator<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Paginator")
            .field("items", &self.items)
            .field("has_next_page", &self.has_next_page())
            .field("has_prev_page", &self.has_prev_page())
            .finish()
    }
}
