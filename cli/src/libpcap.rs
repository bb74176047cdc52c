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

type Create = unsafe extern "C" fn(*const c_char, *mut c_char) -> *mut c_void;
type SetInt = unsafe extern "C" fn(*mut c_void, c_int) -> c_int;
type GetInt = unsafe extern "C" fn(*mut c_void) -> c_int;
type SetNonblock = unsafe extern "C" fn(*mut c_void, c_int, *mut c_char) -> c_int;
type NextEx = unsafe extern "C" fn(*mut c_void, *mut *const PktHdr, *mut *const u8) -> c_int;

/// The functions of a live capture (`-i`), loaded on first use beside the filter's.
struct LiveLib {
    create: Create,
    set_snaplen: SetInt,
    set_promisc: SetInt,
    set_timeout: SetInt,
    set_tstamp_precision: SetInt,
    get_tstamp_precision: GetInt,
    setnonblock: SetNonblock,
    activate: GetInt,
    datalink: GetInt,
    next_ex: NextEx,
    geterr: GetErr,
    close: Close,
}

static LIVE: OnceLock<Result<LiveLib, String>> = OnceLock::new();

fn live_lib() -> Result<&'static LiveLib, String> {
    LIVE.get_or_init(|| {
        let lib = lib().map_err(|_| {
            "-i needs libpcap, loaded at run time to capture (Debian and Ubuntu: apt-get install libpcap0.8; Fedora: dnf install libpcap)".to_string()
        })?;
        // SAFETY: the symbols are taken with the types pcap/pcap.h gives them, from the library
        // `lib` holds loaded for the whole process.
        unsafe {
            let sym = |n: &str| -> Result<*const c_void, String> {
                lib._lib.get::<*const c_void>(n.as_bytes()).map(|s| *s).map_err(|e| format!("libpcap: {e}"))
            };
            Ok(LiveLib {
                create: std::mem::transmute::<*const c_void, Create>(sym("pcap_create")?),
                set_snaplen: std::mem::transmute::<*const c_void, SetInt>(sym("pcap_set_snaplen")?),
                set_promisc: std::mem::transmute::<*const c_void, SetInt>(sym("pcap_set_promisc")?),
                set_timeout: std::mem::transmute::<*const c_void, SetInt>(sym("pcap_set_timeout")?),
                set_tstamp_precision: std::mem::transmute::<*const c_void, SetInt>(sym("pcap_set_tstamp_precision")?),
                get_tstamp_precision: std::mem::transmute::<*const c_void, GetInt>(sym("pcap_get_tstamp_precision")?),
                setnonblock: std::mem::transmute::<*const c_void, SetNonblock>(sym("pcap_setnonblock")?),
                activate: std::mem::transmute::<*const c_void, GetInt>(sym("pcap_activate")?),
                datalink: std::mem::transmute::<*const c_void, GetInt>(sym("pcap_datalink")?),
                next_ex: std::mem::transmute::<*const c_void, NextEx>(sym("pcap_next_ex")?),
                geterr: lib.geterr,
                close: lib.close,
            })
        }
    })
    .as_ref()
    .map_err(|e| e.clone())
}

/// A live capture on one interface (`pcap_create` … `pcap_activate`): nanosecond timestamps,
/// a read timeout so [`Handle::next`] returns regularly. Used on one thread.
pub struct Handle {
    p: *mut c_void,
    lib: &'static LiveLib,
    /// LINKTYPE_ of the interface.
    pub linktype: u32,
    /// The timestamps hold nanoseconds (else microseconds).
    nanos: bool,
}

// SAFETY: a pcap_t may move between threads; it is used by one thread at a time (owned).
unsafe impl Send for Handle {}

/// What [`Handle::next`] found.
pub enum Next<'a> {
    /// A packet: (seconds, nanoseconds, original length, captured bytes).
    Packet(u64, u32, u32, &'a [u8]),
    /// No packet waiting now.
    Timeout,
}

impl Handle {
    /// Opens and activates `iface` (`any` for every interface).
    pub fn open(iface: &str, snaplen: i32, timeout_ms: i32) -> Result<Handle, String> {
        let lib = live_lib()?;
        let name = CString::new(iface).map_err(|_| "the interface name contains a NUL byte".to_string())?;
        let mut errbuf = [0 as c_char; 256];
        // SAFETY: pcap_create takes a C string and a PCAP_ERRBUF_SIZE (256) buffer and returns a
        // handle or NULL; the setters take the handle before activation; messages are copied
        // before the handle is closed.
        unsafe {
            let p = (lib.create)(name.as_ptr(), errbuf.as_mut_ptr());
            if p.is_null() {
                return Err(CStr::from_ptr(errbuf.as_ptr()).to_string_lossy().into_owned());
            }
            (lib.set_snaplen)(p, snaplen);
            (lib.set_promisc)(p, 0);
            (lib.set_timeout)(p, timeout_ms);
            // Packets are handed over within `timeout_ms` of their arrival (the kernel's block
            // timeout); pcap_next_ex does not wait (non-blocking, set after activation: on
            // Linux a blocking read waits for a packet however long the timeout).
            // PCAP_TSTAMP_PRECISION_NANO; an error leaves microseconds, which the records say.
            (lib.set_tstamp_precision)(p, 1);
            let rc = (lib.activate)(p);
            if rc < 0 {
                let msg = (lib.geterr)(p);
                let text =
                    if msg.is_null() { format!("pcap_activate failed ({rc})") } else { CStr::from_ptr(msg).to_string_lossy().into_owned() };
                (lib.close)(p);
                return Err(text);
            }
            if (lib.setnonblock)(p, 1, errbuf.as_mut_ptr()) < 0 {
                let text = CStr::from_ptr(errbuf.as_ptr()).to_string_lossy().into_owned();
                (lib.close)(p);
                return Err(text);
            }
            let lt = (lib.datalink)(p);
            let nanos = (lib.get_tstamp_precision)(p) == 1;
            Ok(Handle { p, lib, linktype: u32::try_from(lt).unwrap_or(0), nanos })
        }
    }

    /// The next packet, none waiting, or the end/an error (`Err`, with libpcap's message).
    pub fn next(&mut self) -> Result<Next<'_>, String> {
        let mut hdr: *const PktHdr = std::ptr::null();
        let mut data: *const u8 = std::ptr::null();
        // SAFETY: pcap_next_ex sets both pointers on 1; they stay valid until the next call on
        // this handle, which the returned borrow of `self` prevents.
        unsafe {
            match (self.lib.next_ex)(self.p, &mut hdr, &mut data) {
                1 if !hdr.is_null() && !data.is_null() => {
                    let h = &*hdr;
                    let bytes = std::slice::from_raw_parts(data, h.caplen as usize);
                    let secs = u64::try_from(h.ts.tv_sec).unwrap_or(0);
                    // With nanosecond precision libpcap puts nanoseconds in tv_usec.
                    let frac = u32::try_from(h.ts.tv_usec).unwrap_or(0);
                    let nanos = if self.nanos { frac } else { frac.saturating_mul(1000) };
                    Ok(Next::Packet(secs, nanos, h.len, bytes))
                }
                1 | 0 => Ok(Next::Timeout),
                rc => {
                    let msg = (self.lib.geterr)(self.p);
                    Err(if msg.is_null() { format!("pcap_next_ex: {rc}") } else { CStr::from_ptr(msg).to_string_lossy().into_owned() })
                }
            }
        }
    }
}

impl Drop for Handle {
    fn drop(&mut self) {
        // SAFETY: the handle came from pcap_create and is closed once.
        unsafe { (self.lib.close)(self.p) }
    }
}
