#![allow(missing_docs)] // criterion's macros generate undocumented functions
//! Frame encoding and decoding on the hot paths: every message is encoded once as its
//! `messageAdded` event (at commit), every client request is decoded, and clients decode
//! every event. `cargo bench -p confab-protocol --bench frames`.

use std::hint::black_box;

use confab_protocol::entity::Message;
use confab_protocol::event::{EventBody, decode_event, encode_event};
use confab_protocol::frame::{ClientFrame, ServerFrame};
use confab_protocol::sid::{Sid, SidKind};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};

fn message(body_bytes: usize) -> Message {
    Message {
        sid: Sid::from_random(SidKind::Message, [7; 16]),
        conversation_sid: Sid::from_random(SidKind::Conversation, [3; 16]),
        index: 41_234,
        author: "alice".into(),
        body: Some("x".repeat(body_bytes)),
        attributes: "{}".into(),
        participant_sid: Some(Sid::from_random(SidKind::Participant, [5; 16])),
        date_created: 1_764_000_000_000,
        date_updated: 1_764_000_000_000,
        media: None,
    }
}

fn frames(c: &mut Criterion) {
    for body in [100usize, 1024] {
        let m = message(body);
        let stream = m.conversation_sid.to_string();
        let event = EventBody::MessageAdded(m.clone());
        let encoded = encode_event(&stream, Some(57_000), &event);
        let mut g = c.benchmark_group(format!("frames/{body}B"));
        g.throughput(Throughput::Elements(1));
        g.bench_function("encode messageAdded", |b| {
            b.iter(|| encode_event(black_box(&stream), Some(57_000), black_box(&event)))
        });
        g.bench_function("decode messageAdded", |b| {
            b.iter(|| decode_event(black_box(&encoded)).expect("decodes"))
        });
        let req = ClientFrame::Req {
            id: 9_001,
            op_id: Some("op-9001".into()),
            method: "message.send".into(),
            params: serde_json::json!({"conversation": stream, "body": m.body}),
        }
        .encode();
        g.bench_function("decode req message.send", |b| {
            b.iter(|| serde_json::from_str::<ClientFrame>(black_box(&req)).expect("decodes"))
        });
        let res = ServerFrame::Res {
            id: 9_001,
            result: Some(serde_json::to_value(&m).expect("a message serializes")),
            error: None,
        };
        g.bench_function("encode res", |b| b.iter(|| black_box(&res).encode()));
        g.finish();
    }
}

criterion_group!(benches, frames);
criterion_main!(benches);
