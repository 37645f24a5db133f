//! The media service over real HTTP: uploads by access token or REST credentials, records,
//! content behind expiring signed URLs, limits that leave nothing behind, and the sweep.

use std::path::Path;
use std::time::Duration;

use confab_testkit::TestServer;

use crate::support::{conversation, default_service, participant};
use serde_json::Value;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

/// Every regular file under `dir`.
fn files(dir: &Path) -> Vec<std::path::PathBuf> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return vec![];
    };
    let mut out = vec![];
    for e in entries {
        let path = e.unwrap().path();
        if path.is_dir() {
            out.extend(files(&path));
        } else {
            out.push(path);
        }
    }
    out
}

async fn service(server: &TestServer) -> String {
    default_service(&server.api()).await
}

fn pattern(len: usize) -> Vec<u8> {
    (0..len).map(|i| (i % 251) as u8).collect()
}

#[tokio::test]
async fn uploads_are_recorded_and_served_behind_expiring_urls_to_those_allowed() {
    let server = TestServer::start().await;
    let service = service(&server).await;
    let base = format!("{}/media/v1/Services/{service}/Media", server.url());
    let http = reqwest::Client::new();

    let picture = pattern(40_000);
    let up = http
        .post(format!("{base}?Filename=cat.png"))
        .header("X-Twilio-Token", server.token("alice"))
        .header("Content-Type", "image/png")
        .body(picture.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(up.status(), 201);
    let m: Value = up.json().await.unwrap();
    let sid = m["sid"].as_str().unwrap().to_owned();
    assert!(sid.starts_with("ME"), "{m}");
    assert_eq!(
        (
            &m["size"],
            &m["author"],
            &m["content_type"],
            &m["filename"],
            &m["category"],
            &m["message_sid"]
        ),
        (
            &Value::from(40_000),
            &Value::from("alice"),
            &Value::from("image/png"),
            &Value::from("cat.png"),
            &Value::from("media"),
            &Value::Null
        )
    );

    // Anyone holding the temporary URL reads it, shown inline, never sniffed.
    let url = m["links"]["content_direct_temporary"].as_str().unwrap();
    let got = reqwest::get(url).await.unwrap();
    assert_eq!(got.status(), 200);
    let h = got.headers().clone();
    assert_eq!(h["content-type"], "image/png");
    assert_eq!(h["x-content-type-options"], "nosniff");
    assert_eq!(h["content-security-policy"], "sandbox; default-src 'none'");
    assert!(
        h["content-disposition"]
            .to_str()
            .unwrap()
            .starts_with("inline")
    );
    assert!(h["cache-control"].to_str().unwrap().starts_with("private"));
    assert_eq!(got.bytes().await.unwrap().to_vec(), picture);
    // A forged or altered URL reads nothing.
    let forged = url.replace("Signature=", "Signature=A");
    assert_eq!(reqwest::get(&forged).await.unwrap().status(), 403);
    let later = url.replace("Expires=", "Expires=9");
    assert_eq!(reqwest::get(&later).await.unwrap().status(), 403);

    // The record: the uploader and the app backend see it; another user does not (404).
    let record = |who: Option<&str>| {
        let mut r = http.get(format!("{base}/{sid}"));
        r = match who {
            Some(identity) => r.header("X-Twilio-Token", server.token(identity)),
            None => r.basic_auth(
                &server.credentials().account_sid,
                Some(&server.credentials().auth_token),
            ),
        };
        r.send()
    };
    assert_eq!(record(Some("alice")).await.unwrap().status(), 200);
    assert_eq!(record(None).await.unwrap().status(), 200);
    assert_eq!(record(Some("bob")).await.unwrap().status(), 404);
    assert_eq!(
        http.get(format!("{base}/{sid}"))
            .send()
            .await
            .unwrap()
            .status(),
        401
    );
    // The content path, authenticated, sends the caller on to a temporary URL.
    let via = http
        .get(format!("{base}/{sid}/Content"))
        .header("X-Twilio-Token", server.token("alice"))
        .send()
        .await
        .unwrap();
    assert_eq!(via.status(), 200);
    assert_eq!(via.bytes().await.unwrap().len(), 40_000);

    // What claims to be a page is a download, never the server's own page.
    let html = http
        .post(&base)
        .basic_auth(
            &server.credentials().account_sid,
            Some(&server.credentials().auth_token),
        )
        .header("Content-Type", "text/html")
        .body("<script>alert(1)</script>")
        .send()
        .await
        .unwrap();
    assert_eq!(html.status(), 201);
    let h: Value = html.json().await.unwrap();
    assert_eq!(h["author"], "system", "the app backend uploads as system");
    // A user named system owns nothing of the backend's.
    let backends = http
        .get(format!("{base}/{}", h["sid"].as_str().unwrap()))
        .header("X-Twilio-Token", server.token("system"))
        .send()
        .await
        .unwrap();
    assert_eq!(backends.status(), 404);
    let got = reqwest::get(h["links"]["content_direct_temporary"].as_str().unwrap())
        .await
        .unwrap();
    assert!(
        got.headers()["content-disposition"]
            .to_str()
            .unwrap()
            .starts_with("attachment")
    );
    assert_eq!(got.headers()["x-content-type-options"], "nosniff");

    // Bad input, refused with its code, before anything is stored.
    let refused = http
        .post(format!("{base}?Category=poster"))
        .header("X-Twilio-Token", server.token("alice"))
        .body("x")
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 400);
    assert_eq!(refused.json::<Value>().await.unwrap()["code"], 20001);
    // A list of types, which a browser would read as its last, is refused.
    let listed = http
        .post(&base)
        .header("X-Twilio-Token", server.token("alice"))
        .header("Content-Type", "image/png, text/html")
        .body("<script>alert(1)</script>")
        .send()
        .await
        .unwrap();
    assert_eq!(listed.status(), 400);
    let other = format!(
        "{}/media/v1/Services/IS00000000000000000000000000000000/Media",
        server.url()
    );
    let elsewhere = http
        .post(&other)
        .header("X-Twilio-Token", server.token("alice"))
        .body("x")
        .send()
        .await
        .unwrap();
    assert_eq!(
        elsewhere.status(),
        403,
        "a token acts in its own service only"
    );
    assert_eq!(files(&server.data_dir().join("media")).len(), 2);
}

/// Sends `len` bytes as a chunked upload (no length declared), raw, and reads the status.
async fn chunked_upload(server: &TestServer, path: &str, token: &str, len: usize) -> u16 {
    let mut s = tokio::net::TcpStream::connect(server.addr()).await.unwrap();
    let head = format!(
        "POST {path} HTTP/1.1\r\nHost: {}\r\nX-Twilio-Token: {token}\r\nContent-Type: application/zip\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n",
        server.addr()
    );
    s.write_all(head.as_bytes()).await.unwrap();
    let chunk = vec![b'z'; 64 * 1024];
    let mut sent = 0;
    while sent < len {
        let n = chunk.len().min(len - sent);
        let frame = format!("{n:x}\r\n");
        // The server may answer and close before the whole body is in.
        if s.write_all(frame.as_bytes()).await.is_err()
            || s.write_all(&chunk[..n]).await.is_err()
            || s.write_all(b"\r\n").await.is_err()
        {
            break;
        }
        sent += n;
    }
    let _ = s.write_all(b"0\r\n\r\n").await;
    let mut answer = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(20), s.read_to_end(&mut answer)).await;
    let text = String::from_utf8_lossy(&answer);
    text.split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or_else(|| panic!("no status in {text:?}"))
}

/// Starts a chunked upload, sends one chunk, then nothing: the server's answer.
async fn stalled_upload(server: &TestServer, path: &str, token: &str) -> u16 {
    let mut s = tokio::net::TcpStream::connect(server.addr()).await.unwrap();
    let head = format!(
        "POST {path} HTTP/1.1\r\nHost: {}\r\nX-Twilio-Token: {token}\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n4\r\nabcd\r\n",
        server.addr()
    );
    s.write_all(head.as_bytes()).await.unwrap();
    let mut answer = Vec::new();
    tokio::time::timeout(Duration::from_secs(20), s.read_to_end(&mut answer))
        .await
        .expect("answered once the upload goes idle")
        .unwrap();
    let text = String::from_utf8_lossy(&answer);
    text.split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or_else(|| panic!("no status in {text:?}"))
}

#[tokio::test]
async fn too_large_is_refused_with_the_limit_and_leaves_nothing_and_the_sweep_takes_the_unattached()
{
    let server = TestServer::start_with(|c| {
        c.media.max_file_size = 1024 * 1024;
        c.media.unattached_ttl = Duration::ZERO;
        // Swept here by the test's own call, not by the background pass.
        c.media.sweep_every = Duration::from_secs(24 * 3600);
        c.media.upload_idle = Duration::from_millis(300);
    })
    .await;
    let service = service(&server).await;
    let path = format!("/media/v1/Services/{service}/Media");
    let http = reqwest::Client::new();

    // Declared too large: refused at once, with the limit.
    let declared = http
        .post(format!("{}{path}", server.url()))
        .header("X-Twilio-Token", server.token("alice"))
        .body(vec![0u8; 1024 * 1024 + 1])
        .send()
        .await
        .unwrap();
    assert_eq!(declared.status(), 413);
    let e: Value = declared.json().await.unwrap();
    assert_eq!(e["code"], 20413);
    assert!(e["message"].as_str().unwrap().contains("1048576"), "{e}");
    // Undeclared (chunked) and too large: refused once past the limit.
    assert_eq!(
        chunked_upload(&server, &path, &server.token("alice"), 3 * 1024 * 1024).await,
        413
    );
    assert!(
        files(&server.data_dir().join("media")).is_empty(),
        "nothing kept"
    );
    // A trickle that stops is abandoned, with nothing kept.
    assert_eq!(
        stalled_upload(&server, &path, &server.token("alice")).await,
        400
    );
    assert!(
        files(&server.data_dir().join("media")).is_empty(),
        "nothing kept"
    );
    // Within the limit, chunked: kept.
    assert_eq!(
        chunked_upload(&server, &path, &server.token("alice"), 300_000).await,
        201
    );
    let kept = files(&server.data_dir().join("media"));
    assert_eq!(kept.len(), 1);
    let sid = kept[0].file_name().unwrap().to_string_lossy().into_owned();

    // Never attached and past its time (none here): swept, bytes and record.
    assert_eq!(server.sweep_media().await, 1);
    assert!(
        files(&server.data_dir().join("media")).is_empty(),
        "bytes gone"
    );
    assert_eq!(server.sweep_media().await, 0);
    let gone = reqwest::Client::new()
        .get(format!("{}{path}/{sid}", server.url()))
        .header("X-Twilio-Token", server.token("alice"))
        .send()
        .await
        .unwrap();
    assert_eq!(gone.status(), 404, "the record went with the bytes");
}

#[tokio::test]
async fn several_nodes_are_refused_a_media_directory_of_their_own() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = confab_server::ServerConfig::new("127.0.0.1:0".parse().unwrap(), dir.path());
    // Refused before NATS is reached: nothing listens there.
    config.nats = Some("nats://127.0.0.1:1".into());
    let refused = confab_server::Server::start(config, confab_testkit::test_credentials()).await;
    let Err(e) = refused else {
        panic!("several nodes on a node-local media directory must not start")
    };
    let e = e.to_string();
    assert!(
        e.contains("shared media storage") && e.contains("--media-store"),
        "{e}"
    );
}

/// Uploads `bytes` as `who` (an identity, or the app backend with `None`); returns the record.
async fn upload_as(server: &TestServer, who: Option<&str>, name: &str, bytes: Vec<u8>) -> Value {
    let service = service(server).await;
    let mut req = reqwest::Client::new()
        .post(format!(
            "{}/media/v1/Services/{service}/Media?Filename={name}",
            server.url()
        ))
        .header("Content-Type", "image/png")
        .body(bytes);
    req = match who {
        Some(identity) => req.header("X-Twilio-Token", server.token(identity)),
        None => req.basic_auth(
            &server.credentials().account_sid,
            Some(&server.credentials().auth_token),
        ),
    };
    let res = req.send().await.unwrap();
    assert_eq!(res.status(), 201);
    res.json().await.unwrap()
}

#[tokio::test]
async fn messages_carry_media_from_both_doors_and_take_its_bytes_when_they_go() {
    let server = TestServer::start_with(|c| {
        c.limits.media_per_message = 2;
        c.limits.media_bytes_per_message = 100_000;
        c.media.sweep_every = Duration::from_secs(24 * 3600);
    })
    .await;
    let api = server.api();
    let service = service(&server).await;
    let conv = conversation(&api, &[("UniqueName", "room")]).await;
    for who in ["alice", "bob"] {
        participant(&api, &conv, who).await;
    }
    let a1 = upload_as(&server, Some("alice"), "a1.png", pattern(10_000)).await;
    let a2 = upload_as(&server, Some("alice"), "a2.png", pattern(20_000)).await;
    let a3 = upload_as(&server, Some("alice"), "a3.png", pattern(30_000)).await;
    let big = upload_as(&server, Some("alice"), "big.png", pattern(95_000)).await;
    let b1 = upload_as(&server, Some("bob"), "b1.png", pattern(5_000)).await;
    let sid = |m: &Value| m["sid"].as_str().unwrap().to_owned();

    // The client configuration names the media service and its limits.
    let (mut alice, welcome) = server.realtime("alice").await;
    let media = welcome.media.expect("welcome tells the media service");
    assert_eq!(
        media.service_url,
        format!("/media/v1/Services/{service}/Media")
    );
    assert_eq!(
        media.set_url,
        format!("/media/v1/Services/{service}/MediaSet")
    );
    assert_eq!(
        (
            media.attachments_count_limit,
            media.attachments_total_size_limit
        ),
        (2, 100_000)
    );
    let (mut bob, _) = server.realtime("bob").await;

    // A user attaches its own uploads, in order, with no body.
    let sent = alice
        .call(
            "message.send",
            serde_json::json!({"conversation": conv, "media": [sid(&a2), sid(&a1)]}),
        )
        .await
        .unwrap();
    assert_eq!(sent["body"], Value::Null);
    let listed: Vec<&str> = sent["media"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["sid"].as_str().unwrap())
        .collect();
    assert_eq!(listed, [sid(&a2), sid(&a1)]);
    assert_eq!(sent["media"][0]["filename"], "a2.png");
    assert_eq!(sent["media"][0]["size"], 20_000);
    // The other participant hears it with its media.
    let heard = loop {
        let e = bob.next_event().await;
        let v = serde_json::to_value(&e.body).unwrap();
        if v["type"] == "messageAdded" {
            break v;
        }
    };
    assert_eq!(heard["data"]["media"], sent["media"], "{heard}");

    // Refused, each with 20001, and nothing written: someone else's upload, one already
    // attached, too many, too large together, one named twice, not a media SID.
    let refused = [
        serde_json::json!([sid(&b1)]),
        serde_json::json!([sid(&a1)]),
        serde_json::json!([sid(&a3), sid(&big), sid(&b1)]),
        serde_json::json!([sid(&a3), sid(&a3)]),
        serde_json::json!(["IM00000000000000000000000000000000"]),
    ];
    for media in refused {
        let e = alice
            .call(
                "message.send",
                serde_json::json!({"conversation": conv, "media": media}),
            )
            .await
            .unwrap_err();
        assert_eq!(e.code, 20001, "{media}: {e:?}");
    }
    let e = alice
        .call(
            "message.send",
            serde_json::json!({"conversation": conv, "media": [sid(&a3), sid(&big)]}),
        )
        .await
        .unwrap_err();
    assert_eq!(e.code, 20413, "together too large: {e:?}");
    assert!(e.message.contains("100000"), "{e:?}");

    // Bob, a participant, sees alice's attached media, one at a time and as a set; not her
    // unattached upload.
    let set = reqwest::Client::new()
        .post(format!(
            "{}/media/v1/Services/{service}/MediaSet",
            server.url()
        ))
        .header("X-Twilio-Token", server.token("bob"))
        .json(&serde_json::json!({"command": "get", "list": [
            {"media_sid": sid(&a1)}, {"media_sid": sid(&a3)}
        ]}))
        .send()
        .await
        .unwrap();
    assert_eq!(set.status(), 200);
    let set: Value = set.json().await.unwrap();
    assert_eq!(set[0]["code"], 200);
    assert_eq!(set[0]["media_record"]["message_sid"], sent["sid"]);
    assert_eq!(set[0]["media_record"]["channel_sid"], conv.as_str());
    let url = set[0]["media_record"]["links"]["content_direct_temporary"]
        .as_str()
        .unwrap();
    assert_eq!(
        reqwest::get(url)
            .await
            .unwrap()
            .bytes()
            .await
            .unwrap()
            .len(),
        10_000
    );
    assert_eq!(
        set[1],
        serde_json::json!({"code": 404, "media_record": {"sid": sid(&a3)}})
    );

    // The app backend attaches its upload over REST (MediaSid, repeatable), and reads it back.
    let system = upload_as(&server, None, "report.pdf", pattern(1_000)).await;
    let created = api
        .post(
            &format!("/v1/Conversations/{conv}/Messages"),
            &[("MediaSid", &sid(&system)), ("MediaSid", &sid(&a3))],
        )
        .await
        .expect(201);
    assert_eq!(created["author"], "system");
    assert_eq!(created["media"][0]["sid"], sid(&system).as_str());
    assert_eq!(created["media"][1]["content_type"], "image/png");
    let msg = created["sid"].as_str().unwrap().to_owned();
    let read = api
        .get(&format!("/v1/Conversations/{conv}/Messages/{msg}"))
        .await
        .expect(200);
    assert_eq!(read["media"], created["media"]);
    api.post(
        &format!("/v1/Conversations/{conv}/Messages/{msg}"),
        &[("MediaSid", &sid(&big))],
    )
    .await
    .expect_error(400, 20001);
    api.post(&format!("/v1/Conversations/{conv}/Messages"), &[])
        .await
        .expect_error(400, 20001);

    // Deleting the messages condemns their media; the sweep leaves no bytes of them.
    let before = files(&server.data_dir().join("media")).len();
    assert_eq!(before, 6);
    api.delete(&format!("/v1/Conversations/{conv}/Messages/{msg}"))
        .await
        .expect(204);
    let first = sent["sid"].as_str().unwrap();
    api.delete(&format!("/v1/Conversations/{conv}/Messages/{first}"))
        .await
        .expect(204);
    assert_eq!(server.sweep_media().await, 4);
    let left: Vec<String> = files(&server.data_dir().join("media"))
        .iter()
        .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
        .collect();
    let mut expected = vec![sid(&big), sid(&b1)];
    expected.sort();
    let mut left = left;
    left.sort();
    assert_eq!(left, expected, "only the unattached uploads are left");
    let gone = reqwest::Client::new()
        .get(format!(
            "{}/media/v1/Services/{service}/Media/{}",
            server.url(),
            sid(&a1)
        ))
        .header("X-Twilio-Token", server.token("alice"))
        .send()
        .await
        .unwrap();
    assert_eq!(gone.status(), 404);
}

#[tokio::test]
async fn on_s3_storage_content_is_presigned_shown_by_the_page_and_gone_with_its_message() {
    let Some((moto, url)) = confab_testkit::s3::s3_store_or_skip("server").await else {
        return;
    };
    let store_url = url.clone();
    let server = TestServer::start_with(|c| {
        c.media.store = Some(store_url);
        c.media.sweep_every = Duration::from_secs(24 * 3600);
    })
    .await;
    let store = confab_media::MediaStorage::s3(&url).unwrap();
    let api = server.api();

    // The record's temporary URL is the store's own, presigned; the page may show pictures
    // from there.
    let m = upload_as(&server, None, "wide.png", pattern(70_000)).await;
    let temporary = m["links"]["content_direct_temporary"].as_str().unwrap();
    assert!(!temporary.starts_with(&server.url()), "{temporary}");
    let got = reqwest::get(temporary).await.unwrap();
    assert!(got.status().is_success(), "{}", got.status());
    assert_eq!(got.bytes().await.unwrap().to_vec(), pattern(70_000));
    if let Some(moto) = &moto {
        assert!(temporary.starts_with(&moto.endpoint), "{temporary}");
        let page = reqwest::get(server.url()).await.unwrap();
        let csp = page.headers()["content-security-policy"].to_str().unwrap();
        assert!(
            csp.contains(&format!("img-src 'self' data: {};", moto.endpoint)),
            "{csp}"
        );
    }

    // Attached, then the message deleted: the sweep leaves no bytes of it in the bucket.
    let conv = conversation(&api, &[("FriendlyName", "s3")]).await;
    let sid = m["sid"].as_str().unwrap();
    let msg = api
        .post(
            &format!("/v1/Conversations/{conv}/Messages"),
            &[("MediaSid", sid)],
        )
        .await
        .expect(201);
    let keys = store.keys("").await.unwrap();
    assert!(keys.iter().any(|k| k.ends_with(sid)), "{keys:?}");
    api.delete(&format!(
        "/v1/Conversations/{conv}/Messages/{}",
        msg["sid"].as_str().unwrap()
    ))
    .await
    .expect(204);
    assert_eq!(server.sweep_media().await, 1);
    let keys = store.keys("").await.unwrap();
    assert!(!keys.iter().any(|k| k.ends_with(sid)), "{keys:?}");
}

/// A form's part: its name, its file's name and type if it is a file, its bytes.
type Part<'a> = (&'a str, Option<(&'a str, &'a str)>, &'a [u8]);

#[tokio::test]
async fn a_form_upload_takes_its_file_part_with_its_name_and_type() {
    let server = TestServer::start().await;
    let service = service(&server).await;
    let base = format!("{}/media/v1/Services/{service}/Media", server.url());
    let file = pattern(30_000);
    let form = |parts: &[Part]| {
        let mut body = Vec::new();
        for (name, file, bytes) in parts {
            body.extend_from_slice(b"--XyZ\r\n");
            match file {
                Some((filename, content_type)) => body.extend_from_slice(
                    format!(
                        "Content-Disposition: form-data; name=\"{name}\"; filename=\"{filename}\"\r\nContent-Type: {content_type}\r\n\r\n"
                    )
                    .as_bytes(),
                ),
                None => body.extend_from_slice(
                    format!("Content-Disposition: form-data; name=\"{name}\"\r\n\r\n").as_bytes(),
                ),
            }
            body.extend_from_slice(bytes);
            body.extend_from_slice(b"\r\n");
        }
        body.extend_from_slice(b"--XyZ--\r\n");
        body
    };
    let post = |body: Vec<u8>| {
        reqwest::Client::new()
            .post(&base)
            .header("X-Twilio-Token", server.token("alice"))
            .header("Content-Type", "multipart/form-data; boundary=XyZ")
            .body(body)
            .send()
    };
    // A field before the file is passed over; the file's part names it and its type.
    let up = post(form(&[
        ("note", None, b"hello"),
        ("media", Some(("scan.jpg", "image/jpeg")), &file),
    ]))
    .await
    .unwrap();
    assert_eq!(up.status(), 201);
    let m: Value = up.json().await.unwrap();
    assert_eq!(
        (&m["filename"], &m["content_type"], &m["size"]),
        (
            &Value::from("scan.jpg"),
            &Value::from("image/jpeg"),
            &Value::from(30_000)
        )
    );
    let got = reqwest::get(m["links"]["content_direct_temporary"].as_str().unwrap())
        .await
        .unwrap();
    assert_eq!(got.bytes().await.unwrap().to_vec(), file);
    // A form without a file, and one whose file's type is a list, are refused; nothing kept.
    let none = post(form(&[("note", None, b"hello")])).await.unwrap();
    assert_eq!(none.status(), 400);
    assert_eq!(none.json::<Value>().await.unwrap()["code"], 20001);
    let listed = post(form(&[(
        "media",
        Some(("x.png", "image/png, text/html")),
        b"<script>",
    )]))
    .await
    .unwrap();
    assert_eq!(listed.status(), 400);
    // Parts before the file are held while the file's part is looked for: past 1 MiB of them
    // the form is refused.
    let padding = vec![b'a'; 2 * 1024 * 1024];
    let padded = post(form(&[
        ("padding", None, &padding),
        ("media", Some(("late.png", "image/png")), b"png"),
    ]))
    .await
    .unwrap();
    assert_eq!(padded.status(), 400);
    let e: Value = padded.json().await.unwrap();
    assert!(
        e["message"].as_str().unwrap().contains("before its file"),
        "{e}"
    );
    assert_eq!(files(&server.data_dir().join("media")).len(), 1);

    // A name beyond ASCII reaches the browser whole (RFC 6266), beside a safe fallback.
    let named = reqwest::Client::new()
        .post(format!("{base}?Filename=r%C3%A9sum%C3%A9%201.pdf"))
        .header("X-Twilio-Token", server.token("alice"))
        .header("Content-Type", "application/zip")
        .body("PK")
        .send()
        .await
        .unwrap()
        .json::<Value>()
        .await
        .unwrap();
    assert_eq!(named["filename"], "résumé 1.pdf");
    let got = reqwest::get(named["links"]["content_direct_temporary"].as_str().unwrap())
        .await
        .unwrap();
    assert_eq!(
        got.headers()["content-disposition"],
        "attachment; filename=\"r_sum__1.pdf\"; filename*=UTF-8''r%C3%A9sum%C3%A9%201.pdf"
    );
}
