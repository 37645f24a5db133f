//! WebSocket frames written and read by hand, for tests of what no WebSocket library would
//! send: reserved bits and opcodes, unmasked or fragmented control frames, invalid UTF-8,
//! broken close frames. Every wait has a timeout and panics with what it waited for.

use std::net::SocketAddr;
use std::time::Duration;

use confab_protocol::frame::{REALTIME_PATH, SUBPROTOCOL};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// Opcodes (RFC 6455 section 5.2).
pub mod op {
    /// A continuation frame.
    pub const CONTINUATION: u8 = 0x0;
    /// A text frame.
    pub const TEXT: u8 = 0x1;
    /// A binary frame.
    pub const BINARY: u8 = 0x2;
    /// A close frame.
    pub const CLOSE: u8 = 0x8;
    /// A ping.
    pub const PING: u8 = 0x9;
    /// A pong.
    pub const PONG: u8 = 0xA;
}

/// A frame the server sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Frame {
    /// The FIN bit.
    pub fin: bool,
    /// The opcode.
    pub opcode: u8,
    /// The payload.
    pub payload: Vec<u8>,
}

impl Frame {
    /// A close frame's status code, if it carries one.
    pub fn close_code(&self) -> Option<u16> {
        (self.opcode == op::CLOSE && self.payload.len() >= 2)
            .then(|| u16::from_be_bytes([self.payload[0], self.payload[1]]))
    }
}

/// A WebSocket connection to the realtime endpoint, upgraded by hand.
pub struct Wire {
    tcp: TcpStream,
    buf: Vec<u8>,
}

impl Wire {
    /// How long any read waits.
    pub const WAIT: Duration = Duration::from_secs(10);

    /// Connects and completes the upgrade (with the protocol's subprotocol); panics unless
    /// the answer is `101`.
    pub async fn upgrade(addr: SocketAddr) -> Wire {
        let mut tcp = TcpStream::connect(addr).await.expect("connect");
        tcp.set_nodelay(true).expect("nodelay");
        let request = format!(
            "GET {REALTIME_PATH} HTTP/1.1\r\nHost: {addr}\r\nUpgrade: websocket\r\n\
             Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\
             Sec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: {SUBPROTOCOL}\r\n\r\n"
        );
        tcp.write_all(request.as_bytes())
            .await
            .expect("upgrade request");
        let mut wire = Wire { tcp, buf: vec![] };
        let head_end = loop {
            if let Some(i) = wire.buf.windows(4).position(|w| w == b"\r\n\r\n") {
                break i + 4;
            }
            assert!(wire.fill().await, "closed during the upgrade");
        };
        let head = String::from_utf8_lossy(&wire.buf[..head_end]).into_owned();
        assert!(head.starts_with("HTTP/1.1 101"), "{head}");
        wire.buf.drain(..head_end);
        wire
    }

    /// Sends one masked frame as given (`rsv`: the three reserved bits, 0 to 7).
    pub async fn send(&mut self, fin: bool, rsv: u8, opcode: u8, payload: &[u8]) {
        self.write(fin, rsv, opcode, payload, Some([0x37, 0xfa, 0x21, 0x3d]))
            .await;
    }

    /// Sends one frame without a mask, which a client must never do.
    pub async fn send_unmasked(&mut self, opcode: u8, payload: &[u8]) {
        self.write(true, 0, opcode, payload, None).await;
    }

    /// Sends a whole text message in one frame.
    pub async fn text(&mut self, text: &str) {
        self.send(true, 0, op::TEXT, text.as_bytes()).await;
    }

    /// Sends bytes as a whole text message in one frame, UTF-8 or not.
    pub async fn text_bytes(&mut self, bytes: &[u8]) {
        self.send(true, 0, op::TEXT, bytes).await;
    }

    async fn write(
        &mut self,
        fin: bool,
        rsv: u8,
        opcode: u8,
        payload: &[u8],
        mask: Option<[u8; 4]>,
    ) {
        let mut f = vec![(u8::from(fin) << 7) | ((rsv & 7) << 4) | (opcode & 0xf)];
        let masked = u8::from(mask.is_some()) << 7;
        match payload.len() {
            n @ 0..=125 => f.push(masked | n as u8),
            n @ 126..=0xffff => {
                f.push(masked | 126);
                f.extend_from_slice(&(n as u16).to_be_bytes());
            }
            n => {
                f.push(masked | 127);
                f.extend_from_slice(&(n as u64).to_be_bytes());
            }
        }
        match mask {
            Some(m) => {
                f.extend_from_slice(&m);
                f.extend(payload.iter().enumerate().map(|(i, b)| b ^ m[i % 4]));
            }
            None => f.extend_from_slice(payload),
        }
        // The server may have closed already: what it did is what the test reads next.
        let _ = self.tcp.write_all(&f).await;
    }

    /// The next frame, or `None` once the server has closed the connection.
    pub async fn next(&mut self) -> Option<Frame> {
        loop {
            if let Some((frame, used)) = parse(&self.buf) {
                self.buf.drain(..used);
                return Some(frame);
            }
            if !self.fill().await {
                return None;
            }
        }
    }

    /// Reads until the connection ends; returns the close frame's code (`None`: no close
    /// frame, or one without a code) and every data frame seen before it.
    pub async fn until_closed(&mut self) -> (Option<u16>, Vec<Frame>) {
        let mut seen = vec![];
        let mut code = None;
        while let Some(f) = self.next().await {
            if f.opcode == op::CLOSE {
                code = f.close_code();
            } else {
                seen.push(f);
            }
        }
        (code, seen)
    }

    /// Reads more bytes; `false` at the end of the connection.
    async fn fill(&mut self) -> bool {
        let mut chunk = [0u8; 4096];
        let read = tokio::time::timeout(Self::WAIT, self.tcp.read(&mut chunk))
            .await
            .unwrap_or_else(|_| panic!("nothing from the server within {:?}", Self::WAIT));
        match read {
            Ok(0) | Err(_) => false,
            Ok(n) => {
                self.buf.extend_from_slice(&chunk[..n]);
                true
            }
        }
    }
}

/// One unmasked server frame from the front of `buf`, and the bytes it took.
fn parse(buf: &[u8]) -> Option<(Frame, usize)> {
    let (b0, b1) = (*buf.first()?, *buf.get(1)?);
    let (len, mut at) = match b1 & 0x7f {
        126 => (
            usize::from(u16::from_be_bytes([*buf.get(2)?, *buf.get(3)?])),
            4,
        ),
        127 => {
            let bytes: [u8; 8] = buf.get(2..10)?.try_into().ok()?;
            (usize::try_from(u64::from_be_bytes(bytes)).ok()?, 10)
        }
        n => (usize::from(n), 2),
    };
    if b1 & 0x80 != 0 {
        at += 4;
    }
    let payload = buf.get(at..at + len)?.to_vec();
    Some((
        Frame {
            fin: b0 & 0x80 != 0,
            opcode: b0 & 0xf,
            payload,
        },
        at + len,
    ))
}
