//! Property tests of the packet codec: any byte string parses or errors (never panics), and
//! every packet round-trips encode -> parse.

use proptest::prelude::*;
use tftp_server::proto::{ErrorCode, ErrorPacket, Mode, Packet, Request, TftpOption};

/// Strings without NUL (a NUL cannot be carried inside a TFTP string).
fn text() -> impl Strategy<Value = String> {
    "[^\u{0}]{0,24}"
}

fn options() -> impl Strategy<Value = Vec<TftpOption>> {
    // A name must be non-empty: an empty name followed by the end looks like padding.
    prop::collection::vec(
        ("[^\u{0}]{1,12}", text()).prop_map(|(name, value)| TftpOption::new(name, value)),
        0..6,
    )
}

fn mode() -> impl Strategy<Value = Mode> {
    prop_oneof![
        Just(Mode::Octet),
        Just(Mode::Netascii),
        Just(Mode::Mail),
        text()
            .prop_filter("not a known mode", |m| {
                !["octet", "netascii", "mail"]
                    .iter()
                    .any(|known| m.eq_ignore_ascii_case(known))
            })
            .prop_map(Mode::Other),
    ]
}

fn request() -> impl Strategy<Value = Request> {
    (text(), mode(), options()).prop_map(|(filename, mode, options)| Request {
        filename,
        mode,
        options,
    })
}

/// Owned description of a packet (DATA borrows, so the strategy yields this instead).
#[derive(Debug, Clone)]
enum Owned {
    Rrq(Request),
    Wrq(Request),
    Data(u16, Vec<u8>),
    Ack(u16),
    Error(u16, String),
    Oack(Vec<TftpOption>),
}

fn packet() -> impl Strategy<Value = Owned> {
    prop_oneof![
        request().prop_map(Owned::Rrq),
        request().prop_map(Owned::Wrq),
        (any::<u16>(), prop::collection::vec(any::<u8>(), 0..600)).prop_map(|(b, d)| Owned::Data(b, d)),
        any::<u16>().prop_map(Owned::Ack),
        (any::<u16>(), text()).prop_map(|(c, m)| Owned::Error(c, m)),
        options().prop_map(Owned::Oack),
    ]
}

fn borrow(owned: &Owned) -> Packet<'_> {
    match owned {
        Owned::Rrq(request) => Packet::Rrq(request.clone()),
        Owned::Wrq(request) => Packet::Wrq(request.clone()),
        Owned::Data(block, data) => Packet::Data { block: *block, data },
        Owned::Ack(block) => Packet::Ack { block: *block },
        Owned::Error(code, message) => Packet::Error(ErrorPacket::new(ErrorCode(*code), message.clone())),
        Owned::Oack(options) => Packet::Oack {
            options: options.clone(),
        },
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1000))]

    #[test]
    fn any_bytes_parse_or_error(bytes in prop::collection::vec(any::<u8>(), 0..200)) {
        // Either outcome is fine; a panic fails the test. Errors must render.
        if let Err(error) = Packet::parse(&bytes) {
            prop_assert!(!error.to_string().is_empty());
        }
    }

    #[test]
    fn opcode_prefixed_bytes_parse_or_error(
        opcode in 0u16..8,
        body in prop::collection::vec(prop_oneof![Just(0u8), any::<u8>()], 0..80),
    ) {
        let mut bytes = opcode.to_be_bytes().to_vec();
        bytes.extend(body);
        let _ = Packet::parse(&bytes);
    }

    #[test]
    fn packets_round_trip(owned in packet()) {
        let packet = borrow(&owned);
        let datagram = packet.to_datagram();
        prop_assert_eq!(Packet::parse(&datagram).unwrap(), packet);
    }
}

#[test]
fn mode_names_are_case_insensitive_and_written_lower_case() {
    let Packet::Rrq(request) = Packet::parse(b"\x00\x01f\0NetASCII\0").unwrap() else {
        panic!("not an RRQ")
    };
    assert_eq!(request.mode, Mode::Netascii);
    assert_eq!(Packet::Rrq(request).to_datagram(), b"\x00\x01f\0netascii\0");
}
