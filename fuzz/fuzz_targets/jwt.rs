//! JWS compact tokens and JWK sets (EAR results, MAA tokens): decoding and verification never
//! panic, whatever the bytes.
#![no_main]

use cloud_ra_verify::jwt::{self, Checks, Jwks, Jws};
use cloud_ra_verify::time::Timestamp;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = Jwks::parse(data);
    if let Ok(s) = std::str::from_utf8(data) {
        let _ = Jws::decode(s);
        // A fixed one-key set: the verifier's selection, alg and time checks run on the token.
        let set = Jwks::parse(br#"{"keys":[{"kty":"EC","crv":"P-256","kid":"k","x":"f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU","y":"x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0"}]}"#);
        if let Ok(set) = set {
            let _ = jwt::verify(s, &set, &Checks::at(Timestamp(1_800_000_000)));
        }
    }
});
