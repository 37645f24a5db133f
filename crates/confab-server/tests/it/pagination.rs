//! `meta` pagination: pages walked by following `next_page_url` and `previous_page_url`
//! verbatim, every item exactly once and in order, and bad paging parameters refused.

use confab_testkit::{Api, TestServer};
use serde_json::Value;

use crate::support::{self, sid};

/// Walks forward from `first` (a path) by `next_page_url`, checking each page's `meta`, then
/// back from the last page by `previous_page_url`, checking that each previous page is the one
/// seen on the way forward. Returns the items in the order seen.
async fn walk(api: &Api, first: &str, key: &str, size: usize) -> Vec<Value> {
    let mut pages: Vec<Value> = vec![];
    let mut url = Some(first.to_owned());
    let mut first_url = String::new();
    while let Some(u) = url {
        let body = api.get(&u).await.expect(200);
        let meta = &body["meta"];
        let n = pages.len();
        assert_eq!(meta["page"], n, "{meta}");
        assert_eq!(meta["page_size"], size, "{meta}");
        assert_eq!(meta["key"], key, "{meta}");
        if n == 0 {
            first_url = meta["url"].as_str().unwrap().to_owned();
            assert!(first_url.starts_with(api.base()), "{meta}");
            assert_eq!(api.get(&first_url).await.expect(200), body);
        } else {
            assert_eq!(
                meta["url"],
                u.as_str(),
                "a page's url is the one that fetched it"
            );
        }
        assert_eq!(meta["first_page_url"], first_url.as_str(), "{meta}");
        assert_eq!(meta["previous_page_url"].is_null(), n == 0, "{meta}");
        let items = body[key].as_array().unwrap();
        url = meta["next_page_url"].as_str().map(str::to_owned);
        if url.is_some() {
            assert_eq!(items.len(), size, "only the last page may be short: {meta}");
        } else {
            assert!(!items.is_empty() && items.len() <= size, "{meta}");
        }
        pages.push(body);
        assert!(pages.len() < 100, "pagination does not end");
    }
    // And back again, from the last page to the first.
    let mut at = pages.len() - 1;
    while let Some(prev) = pages[at]["meta"]["previous_page_url"].as_str() {
        let body = api.get(prev).await.expect(200);
        at -= 1;
        assert_eq!(body[key], pages[at][key], "previous page {at} differs");
        assert_eq!(body["meta"]["page"], at);
        assert_eq!(body["meta"]["url"], prev);
        assert!(body["meta"]["next_page_url"].is_string());
    }
    assert_eq!(at, 0, "walking back stopped early");
    pages
        .iter()
        .flat_map(|p| p[key].as_array().unwrap().clone())
        .collect()
}

fn sids(items: &[Value]) -> Vec<String> {
    items.iter().map(sid).collect()
}

#[tokio::test]
async fn conversations_walk_in_pages_of_five_each_exactly_once_in_creation_order() {
    let server = TestServer::start().await;
    let api = server.api();
    let mut created = vec![];
    for i in 0..23 {
        created.push(support::conversation(&api, &[("FriendlyName", &format!("c{i}"))]).await);
    }
    let seen = walk(&api, "/v1/Conversations?PageSize=5", "conversations", 5).await;
    assert_eq!(sids(&seen), created);
    // The state filter is carried into every page URL.
    support::conversation(&api, &[("State", "closed")]).await;
    let active = walk(
        &api,
        "/v1/Conversations?PageSize=5&State=active",
        "conversations",
        5,
    )
    .await;
    assert_eq!(sids(&active), created);
}

#[tokio::test]
async fn messages_walk_in_pages_of_five_in_both_orders() {
    let server = TestServer::start().await;
    let api = server.api();
    let conv = support::conversation(&api, &[]).await;
    for i in 0..23 {
        support::message(&api, &conv, "system", &format!("m{i}")).await;
    }
    let path = format!("/v1/Conversations/{conv}/Messages");
    let index = |items: &[Value]| -> Vec<i64> {
        items.iter().map(|m| m["index"].as_i64().unwrap()).collect()
    };
    let asc = walk(&api, &format!("{path}?PageSize=5"), "messages", 5).await;
    assert_eq!(index(&asc), (0..23).collect::<Vec<_>>());
    let asc2 = walk(&api, &format!("{path}?PageSize=5&Order=asc"), "messages", 5).await;
    assert_eq!(asc2, asc);
    let desc = walk(
        &api,
        &format!("{path}?PageSize=5&Order=desc"),
        "messages",
        5,
    )
    .await;
    assert_eq!(index(&desc), (0..23).rev().collect::<Vec<_>>());
}

#[tokio::test]
async fn participants_walk_in_pages_of_five_in_join_order() {
    let server = TestServer::start().await;
    let api = server.api();
    let conv = support::conversation(&api, &[]).await;
    let mut created = vec![];
    for i in 0..12 {
        created.push(sid(&support::participant(
            &api,
            &conv,
            &format!("user{i:02}"),
        )
        .await));
    }
    let path = format!("/v1/Conversations/{conv}/Participants?PageSize=5");
    let seen = walk(&api, &path, "participants", 5).await;
    assert_eq!(sids(&seen), created);
}

#[tokio::test]
async fn a_list_that_fills_its_last_page_exactly_has_no_empty_page_after_it() {
    let server = TestServer::start().await;
    let api = server.api();
    let conv = support::conversation(&api, &[]).await;
    for i in 0..10 {
        support::message(&api, &conv, "system", &format!("m{i}")).await;
    }
    let path = format!("/v1/Conversations/{conv}/Messages?PageSize=5");
    let (items, pages) = api.collect_pages(&path, "messages").await;
    assert_eq!((items.len(), pages), (10, 2));
}

#[tokio::test]
async fn an_empty_list_is_one_page_without_neighbours() {
    let server = TestServer::start().await;
    let api = server.api();
    let body = api.get("/v1/Conversations").await.expect(200);
    assert_eq!(body["conversations"], serde_json::json!([]));
    assert!(body["meta"]["next_page_url"].is_null());
    assert!(body["meta"]["previous_page_url"].is_null());
    assert_eq!(body["meta"]["page_size"], 50);
}

/// The reference's helper libraries send `list(limit=N)` as `PageSize=N` whatever N is
/// (`conversations.list(limit=500)`): a size above a list's largest page is answered with its
/// largest page, `meta.page_size` says so, and `next_page_url` walks the rest in that size.
/// 0, negatives and non-numbers stay refused.
#[tokio::test]
async fn a_page_size_above_the_largest_gets_the_largest_page_and_working_links() {
    let server = TestServer::start().await;
    let api = server.api();
    let conv = support::conversation(&api, &[]).await;
    for i in 0..129 {
        support::conversation(&api, &[("FriendlyName", &format!("c{i}"))]).await;
    }
    for i in 0..130 {
        let who = format!("u{i:03}");
        support::participant(&api, &conv, &who).await;
        support::message(&api, &conv, &who, &format!("m{i}")).await;
    }
    let (users_max, max) = (50, 100);
    let lists = [
        ("/v1/Conversations".to_owned(), "conversations", max, 130),
        (
            format!("/v1/Conversations/{conv}/Messages"),
            "messages",
            max,
            130,
        ),
        (
            format!("/v1/Conversations/{conv}/Participants"),
            "participants",
            max,
            130,
        ),
        ("/v1/Users".to_owned(), "users", users_max, 130),
        ("/v1/Services".to_owned(), "services", max, 1),
        ("/v1/Roles".to_owned(), "roles", users_max, 4),
        (
            "/v1/Users/u007/Conversations".to_owned(),
            "conversations",
            users_max,
            1,
        ),
    ];
    for (list, key, largest, total) in &lists {
        for size in ["1000", "101", "4294967296", "99999999999999999999"] {
            let page = api
                .get(&format!("{list}?PageSize={size}"))
                .await
                .expect(200);
            assert_eq!(page["meta"]["page_size"], *largest, "{list} {size}");
            let items = page[*key].as_array().unwrap().len();
            assert_eq!(items, (*total).min(*largest), "{list} {size}");
            assert_eq!(page["meta"]["next_page_url"].is_string(), total > largest);
        }
        let seen = walk(&api, &format!("{list}?PageSize=1000"), key, *largest).await;
        assert_eq!(seen.len(), *total, "{list}");
        for size in ["0", "-1", "abc", "1.5", "0x10"] {
            api.get(&format!("{list}?PageSize={size}"))
                .await
                .expect_error(400, 20001);
        }
    }
}

#[tokio::test]
async fn a_page_token_the_server_did_not_issue_is_refused() {
    let server = TestServer::start().await;
    let api = server.api();
    let conv = support::conversation(&api, &[]).await;
    for list in [
        "/v1/Conversations".to_owned(),
        format!("/v1/Conversations/{conv}/Messages"),
        format!("/v1/Conversations/{conv}/Participants"),
    ] {
        for token in [
            "junk",
            "PA",
            "PAx",
            "XX1",
            "PB1.5",
            "%FF%FE",
            "PA99999999999999999999",
        ] {
            api.get(&format!("{list}?PageToken={token}"))
                .await
                .expect_error(400, 20001);
        }
    }
}

#[tokio::test]
async fn order_is_refused_on_lists_that_have_no_order() {
    let server = TestServer::start().await;
    let api = server.api();
    let conv = crate::support::conversation(&api, &[]).await;
    api.get("/v1/Conversations?Order=desc")
        .await
        .expect_error(400, 20001);
    api.get(&format!("/v1/Conversations/{conv}/Participants?Order=desc"))
        .await
        .expect_error(400, 20001);
    api.get(&format!("/v1/Conversations/{conv}/Messages?Order=desc"))
        .await
        .expect(200);
}
