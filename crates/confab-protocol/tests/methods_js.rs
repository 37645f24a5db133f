//! The JavaScript SDK names its methods through `web/sdk/methods.js`, made from the method table
//! (`confab_protocol::method::METHODS`): this test fails when the two differ, and writes the
//! file anew with `CONFAB_BLESS=1`. The SDK itself spells no method name: every one goes
//! through that file.

use confab_protocol::method::METHODS;

const METHODS_JS: &str = include_str!("../../../web/sdk/methods.js");
/// Every source file of the SDK but methods.js.
const SDK_JS: &[(&str, &str)] = &[
    ("builder.js", include_str!("../../../web/sdk/builder.js")),
    ("client.js", include_str!("../../../web/sdk/client.js")),
    ("confab.js", include_str!("../../../web/sdk/confab.js")),
    (
        "conversation.js",
        include_str!("../../../web/sdk/conversation.js"),
    ),
    ("emitter.js", include_str!("../../../web/sdk/emitter.js")),
    ("errors.js", include_str!("../../../web/sdk/errors.js")),
    ("media.js", include_str!("../../../web/sdk/media.js")),
    ("message.js", include_str!("../../../web/sdk/message.js")),
    (
        "paginator.js",
        include_str!("../../../web/sdk/paginator.js"),
    ),
    (
        "participant.js",
        include_str!("../../../web/sdk/participant.js"),
    ),
    ("platform.js", include_str!("../../../web/sdk/platform.js")),
    ("user.js", include_str!("../../../web/sdk/user.js")),
    ("util.js", include_str!("../../../web/sdk/util.js")),
];

/// `conversation.setLastRead` as `conversationSetLastRead`.
fn js_name(wire: &str) -> String {
    let mut out = String::new();
    let mut upper = false;
    for c in wire.chars() {
        if c == '.' {
            upper = true;
        } else if upper {
            out.extend(c.to_uppercase());
            upper = false;
        } else {
            out.push(c);
        }
    }
    out
}

fn generated() -> String {
    let mut js = String::from(
        "// The realtime methods of `confab_protocol::method::METHODS`, made by\n\
         // `CONFAB_BLESS=1 cargo test -p confab-protocol --test methods_js`: do not edit.\n\n\
         /** Each method's name on the wire, by the name the SDK calls it by. */\n\
         export const Method = Object.freeze({\n",
    );
    for m in METHODS {
        let doc = m.doc.lines().map(str::trim).collect::<Vec<_>>().join(" ");
        js.push_str(&format!(
            "  /** {doc} */\n  {}: \"{}\",\n",
            js_name(m.name),
            m.name
        ));
    }
    js.push_str("});\n");
    js
}

#[test]
fn methods_js_is_made_from_the_table() {
    let want = generated();
    if std::env::var_os("CONFAB_BLESS").is_some() {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../web/sdk/methods.js");
        std::fs::write(path, &want).expect("write web/sdk/methods.js");
        return;
    }
    assert!(
        METHODS_JS == want,
        "web/sdk/methods.js differs from the method table: \
         CONFAB_BLESS=1 cargo test -p confab-protocol --test methods_js"
    );
}

#[test]
fn the_browser_sdk_spells_no_method_name_of_its_own() {
    for (file, text) in SDK_JS {
        for m in METHODS {
            for quote in ['"', '\''] {
                let literal = format!("{quote}{}{quote}", m.name);
                assert!(
                    !text.contains(&literal),
                    "web/sdk/{file} spells {literal}: use Method.{} from methods.js",
                    js_name(m.name)
                );
            }
        }
    }
}

#[test]
fn every_source_file_of_the_sdk_is_checked() {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../../web/sdk");
    let mut on_disk: Vec<String> = std::fs::read_dir(dir)
        .expect("read web/sdk")
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .filter(|n| n.ends_with(".js") && n != "methods.js")
        .collect();
    on_disk.sort();
    let listed: Vec<&str> = SDK_JS.iter().map(|(f, _)| *f).collect();
    assert_eq!(on_disk, listed, "list every web/sdk/*.js file in SDK_JS");
}
