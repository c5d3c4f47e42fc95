//! EIF parser and PCR computation: never panic. The input is tried as an EIF, and (since no
//! EIF is among the shared vectors) also split into sections that `eif::build` frames with a
//! correct table and CRC, so the section and signature parsers are reached too.
#![no_main]

use cloud_ra_verify::measure::eif;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = eif::measure(data);
    // Sections: [type, len, len bytes...]*.
    let mut sections: Vec<(u16, &[u8])> = Vec::new();
    let mut rest = data;
    while rest.len() >= 2 && sections.len() < 34 {
        let t = u16::from(rest[0] % 7);
        let n = (rest[1] as usize).min(rest.len() - 2);
        sections.push((t, &rest[2..2 + n]));
        rest = &rest[2 + n..];
    }
    if sections.len() <= 32 {
        let _ = eif::measure(&eif::build(4, &sections));
    }
});
