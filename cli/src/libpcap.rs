//! libpcap loaded at run time, for the capture filter (`-f`) only: its BPF compiler and
//! interpreter, so a filter means what it means to tcpdump. Loading it with `dlopen` rather than
//! linking it keeps the binary free of system libraries: every other command runs on a machine
//! without libpcap, and `-f` there fails with a message naming the package to install.
//!
//! The library is looked up as `libpcap.so.0.8` (Debian's and Ubuntu's name for libpcap 1.x),
//! then `libpcap.so.1` (Fedora, Arch, Alpine), then `libpcap.so`; `MPTCP_TRACE_LIBPCAP=PATH`
//! names the file to load instead (another build, or a missing file in tests).
//!
//! The six functions used are part of libpcap's stable ABI since 0.x; the two structs they take
//! are declared here as `pcap/bpf.h` and `pcap/pcap.h` declare them.
#![allow(unsafe_code)]

use std::ffi::{c_char, c_int, c_long, c_uint, c_void, CStr, CString};
use std::sync::{Mutex, OnceLock};

/// The environment variable that names the libpcap file to load.
pub const ENV: &str = "MPTCP_TRACE_LIBPCAP";

/// The names tried in order when [`ENV`] is not set.
const NAMES: [&str; 3] = ["libpcap.so.0.8", "libpcap.so.1", "libpcap.so"];

/// `struct bpf_program` (pcap/bpf.h).
#[repr(C)]
struct BpfProgramRaw {
    bf_len: c_uint,
    bf_insns: *mut c_void,
}

/// `struct timeval` as Linux and the BSDs lay it out (two `long`s on LP64, as on ILP32).
#[repr(C)]
struct Timeval {
    tv_sec: c_long,
    tv_usec: c_long,
}

/// `struct pcap_pkthdr` (pcap/pcap.h).
#[repr(C)]
struct PktHdr {
    ts: Timeval,
    caplen: u32,
    len: u32,
}

type OpenDead = unsafe extern "C" fn(c_int, c_int) -> *mut c_void;
type Compile = unsafe extern "C" fn(*mut c_void, *mut BpfProgramRaw, *const c_char, c_int, u32) -> c_int;
type GetErr = unsafe extern "C" fn(*mut c_void) -> *const c_char;
type OfflineFilter = unsafe extern "C" fn(*const BpfProgramRaw, *const PktHdr, *const u8) -> c_int;
type FreeCode = unsafe extern "C" fn(*mut BpfProgramRaw);
type Close = unsafe extern "C" fn(*mut c_void);

/// The library and the functions taken from it; the pointers stay valid while `_lib` lives,
/// which is for the whole process (it sits in a `static`).
struct Lib {
    _lib: libloading::Library,
    open_dead: OpenDead,
    compile: Compile,
    geterr: GetErr,
    offline_filter: OfflineFilter,
    freecode: FreeCode,
    close: Close,
}

static LIB: OnceLock<Result<Lib, String>> = OnceLock::new();

/// libpcap before 1.8 compiled filters with a global (non-reentrant) parser: one compile at a
/// time, whatever the version loaded. Running a compiled program needs no lock.
static COMPILE_LOCK: Mutex<()> = Mutex::new(());

fn load(name: &str) -> Result<Lib, String> {
    // SAFETY: loading libpcap runs its initialisers, which have no preconditions; each symbol is
    // taken with the type pcap/pcap.h gives it.
    unsafe {
        let lib = libloading::Library::new(name).map_err(|e| e.to_string())?;
        let sym = |n: &str| -> Result<*const c_void, String> {
            lib.get::<*const c_void>(n.as_bytes()).map(|s| *s).map_err(|e| format!("{name}: {e}"))
        };
        let (open_dead, compile, geterr) = (sym("pcap_open_dead")?, sym("pcap_compile")?, sym("pcap_geterr")?);
        let (offline_filter, freecode, close) = (sym("pcap_offline_filter")?, sym("pcap_freecode")?, sym("pcap_close")?);
        Ok(Lib {
            open_dead: std::mem::transmute::<*const c_void, OpenDead>(open_dead),
            compile: std::mem::transmute::<*const c_void, Compile>(compile),
            geterr: std::mem::transmute::<*const c_void, GetErr>(geterr),
            offline_filter: std::mem::transmute::<*const c_void, OfflineFilter>(offline_filter),
            freecode: std::mem::transmute::<*const c_void, FreeCode>(freecode),
            close: std::mem::transmute::<*const c_void, Close>(close),
            _lib: lib,
        })
    }
}

/// The loaded library, or why it could not be loaded (said once, the same for every caller).
fn lib() -> Result<&'static Lib, String> {
    LIB.get_or_init(|| {
        let names: Vec<String> = match std::env::var_os(ENV) {
            Some(p) => vec![p.to_string_lossy().into_owned()],
            None => NAMES.iter().map(|n| n.to_string()).collect(),
        };
        let mut errors = Vec::new();
        for n in &names {
            match load(n) {
                Ok(lib) => return Ok(lib),
                Err(e) => errors.push(e),
            }
        }
        Err(format!(
            "-f needs libpcap, loaded at run time to compile and run the filter, and it could not be loaded ({}); \
             install it (Debian and Ubuntu: apt-get install libpcap0.8; Fedora: dnf install libpcap) \
             or run without -f",
            errors.join("; ")
        ))
    })
    .as_ref()
    .map_err(|e| e.clone())
}

/// A BPF program compiled by libpcap for one link type; freed when dropped.
pub struct Program {
    raw: BpfProgramRaw,
    lib: &'static Lib,
}

// SAFETY: the program is heap memory owned by this value alone (libpcap keeps no reference to
// it after pcap_compile returns), and pcap_offline_filter only reads it.
unsafe impl Send for Program {}

impl Program {
    /// Compiles `expr` for `linktype` (a LINKTYPE_ value, as pcap_open_dead takes it), optimised,
    /// with netmask 0 as the pcap crate passed it.
    pub fn compile(expr: &str, linktype: u32) -> Result<Program, String> {
        let lib = lib()?;
        let lt = c_int::try_from(linktype).map_err(|_| format!("link type {linktype} is out of range"))?;
        let cexpr = CString::new(expr).map_err(|_| "the filter contains a NUL byte".to_string())?;
        let _guard = COMPILE_LOCK.lock().unwrap_or_else(|p| p.into_inner());
        // SAFETY: pcap_open_dead returns a handle or NULL (checked); pcap_compile fills `raw`
        // only on success (0); pcap_geterr's string lives in the handle, copied before
        // pcap_close frees it.
        unsafe {
            let handle = (lib.open_dead)(lt, 65535);
            if handle.is_null() {
                return Err(format!("libpcap cannot open a handle for link type {linktype}"));
            }
            let mut raw = BpfProgramRaw { bf_len: 0, bf_insns: std::ptr::null_mut() };
            let rc = (lib.compile)(handle, &mut raw, cexpr.as_ptr(), 1, 0);
            let result = if rc == 0 {
                Ok(Program { raw, lib })
            } else {
                let msg = (lib.geterr)(handle);
                Err(if msg.is_null() {
                    "libpcap error: syntax error".to_string()
                } else {
                    format!("libpcap error: {}", CStr::from_ptr(msg).to_string_lossy())
                })
            };
            (lib.close)(handle);
            result
        }
    }

    /// Whether the packet passes. libpcap is given the captured length as the wire length too,
    /// as the pcap crate did: `greater`/`less` see what was captured.
    pub fn matches(&self, data: &[u8]) -> bool {
        let len = u32::try_from(data.len()).unwrap_or(u32::MAX);
        let hdr = PktHdr { ts: Timeval { tv_sec: 0, tv_usec: 0 }, caplen: len, len };
        // SAFETY: the program is valid until drop; libpcap reads at most `caplen` bytes of `data`.
        unsafe { (self.lib.offline_filter)(&self.raw, &hdr, data.as_ptr()) != 0 }
    }
}

impl Drop for Program {
    fn drop(&mut self) {
        // SAFETY: `raw` came from a successful pcap_compile and is freed once.
        unsafe { (self.lib.freecode)(&mut self.raw) }
    }
}

/// `Ok` when libpcap is loaded, else the message saying what to install.
pub fn available() -> Result<(), String> {
    lib().map(|_| ())
}
