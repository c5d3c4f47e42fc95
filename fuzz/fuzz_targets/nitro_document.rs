//! Nitro COSE_Sign1 + attestation-document parser and the strict CBOR decoder: never panic on
//! arbitrary bytes; whatever decodes re-encodes to the same bytes (definite, minimal encoding).
#![no_main]

use cloud_ra_verify::cbor;
use cloud_ra_verify::nitro::Document;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(v) = cbor::decode(data) {
        assert_eq!(cbor::encode(&v), data, "strict CBOR round-trips byte for byte");
    }
    if let Ok(doc) = Document::parse(data) {
        let _ = doc.cose.to_be_signed();
        let _ = doc.doc.debug_mode();
    }
});
