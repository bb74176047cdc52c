//! TEMPORARY shim until the real reassembler lands from its branch: counts only.
#[derive(Debug, Clone, Copy, Default)]
pub struct ReassemblyLimits;
pub struct Reassembler { start: u64, seen: u64, fin: Option<u64> }
pub struct Dup { pub subflow: Option<u32>, pub bytes: u64, pub first_ts_ns: Option<u64> }
pub struct Insert { pub new_bytes: u64, pub mismatched_bytes: u64 }
impl Insert { pub fn duplicates(&self) -> impl Iterator<Item = &Dup> { [].iter() } }
pub struct Summary { pub bytes: u64, pub captured_bytes: u64, pub delivered_bytes: u64, pub complete: bool, pub gaps: Vec<(u64,u64)>, pub uncaptured: Vec<(u64,u64)>, pub data_fin: Option<u64>, pub caps_hit: u64 }
impl Reassembler {
    pub fn new(start: u64, _l: ReassemblyLimits) -> Self { Reassembler { start, seen: 0, fin: None } }
    pub fn insert(&mut self, _dsn: u64, _c: &[u8], wire_len: u32, _s: u32, _f: u64, _t: u64, _sink: &mut dyn FnMut(u64, &[u8])) -> Insert { self.seen += u64::from(wire_len); Insert { new_bytes: u64::from(wire_len), mismatched_bytes: 0 } }
    pub fn data_fin(&mut self, dsn: u64, _f: u64) { self.fin = Some(dsn); }
    pub fn finish(&mut self, _sink: &mut dyn FnMut(u64, &[u8])) -> Summary { let _ = self.start; Summary { bytes: self.seen, captured_bytes: 0, delivered_bytes: 0, complete: false, gaps: vec![], uncaptured: vec![], data_fin: self.fin, caps_hit: 0 } }
}
