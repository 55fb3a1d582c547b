//! Writes the fixture PKI: `cargo run -p ctl-sign --example make-test-pki -- fixtures/pki`.
//! Keys in `fixtures/pki/keys/` are reused (committed); missing RSA keys are created.
#[path = "../tests/support/test_pki.rs"]
mod test_pki;

fn main() {
    let dir = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "fixtures/pki".to_owned());
    let dir = std::path::Path::new(&dir);
    for (file, pem) in test_pki::generate(dir) {
        std::fs::write(dir.join(&file), pem).expect("write certificate");
        println!("wrote {}", dir.join(file).display());
    }
}
