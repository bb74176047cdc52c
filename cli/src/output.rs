//! Files the commands write (stream, report, plot, verify -o, man): never lost, never half
//! written. The bytes go to a temporary file beside the target, which is renamed onto the target
//! only when the command succeeded ([`OutFile::commit`]); on failure the temporary file is
//! removed and the target is left as it was. An output that is one of the command's inputs is
//! refused before anything is read or written.
//!
//! Callers open and check their inputs and the selection first, and create the output last, so a
//! usage error or a missing input never creates a file.
use std::fs::File;
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use crate::error::CliError;

/// Checks an output before any input is read: its folder exists, and it is not one of `inputs`
/// (the same file by device and inode, so a second name or a symbolic link is caught too; `-`
/// is standard input or output, never a file).
pub fn refuse_input(target: &Path, inputs: &[&Path]) -> Result<(), CliError> {
    if target.as_os_str() == "-" {
        return Ok(());
    }
    let dir = match target.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    if !dir.is_dir() {
        return Err(CliError::open(target)(io::Error::other(format!("no such directory: {}", dir.display()))));
    }
    let Ok(out) = std::fs::metadata(target) else { return Ok(()) };
    for input in inputs.iter().filter(|i| i.as_os_str() != "-") {
        if std::fs::metadata(input).is_ok_and(|m| same_file(&m, &out)) {
            return Err(CliError::Usage(format!(
                "{}: the output is the input {}: refusing to overwrite a capture (choose another output)",
                target.display(),
                input.display()
            )));
        }
    }
    Ok(())
}

#[cfg(unix)]
fn same_file(a: &std::fs::Metadata, b: &std::fs::Metadata) -> bool {
    use std::os::unix::fs::MetadataExt;
    a.dev() == b.dev() && a.ino() == b.ino()
}

#[cfg(not(unix))]
fn same_file(a: &std::fs::Metadata, b: &std::fs::Metadata) -> bool {
    a.len() == b.len() && a.modified().ok() == b.modified().ok() && a.created().ok() == b.created().ok()
}

static SERIAL: AtomicU64 = AtomicU64::new(0);

/// An output file being written: a temporary file beside the target until [`commit`].
///
/// [`commit`]: OutFile::commit
pub struct OutFile {
    target: PathBuf,
    tmp: PathBuf,
    file: Option<File>,
}

impl OutFile {
    /// Creates the temporary file for `target` (refused when `target` is one of `inputs`). Its
    /// name ends with the target's, so the extension (a plot's format) is the same.
    pub fn create(target: &Path, inputs: &[&Path]) -> Result<OutFile, CliError> {
        refuse_input(target, inputs)?;
        let name = target.file_name().ok_or_else(|| CliError::Usage(format!("{}: not a file name", target.display())))?;
        let dir = match target.parent() {
            Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
            _ => PathBuf::from("."),
        };
        if let Ok(m) = std::fs::metadata(target) {
            if m.is_dir() {
                return Err(CliError::open(target)(io::Error::other("is a directory")));
            }
        }
        let serial = SERIAL.fetch_add(1, Ordering::Relaxed);
        let tmp = dir.join(format!(".mptcp-trace-{}-{serial}.{}", std::process::id(), name.to_string_lossy()));
        let file = File::options().write(true).create_new(true).open(&tmp).map_err(|e| match e.kind() {
            io::ErrorKind::NotFound => CliError::open(target)(io::Error::other(format!("no such directory: {}", dir.display()))),
            _ => CliError::open(target)(e),
        })?;
        Ok(OutFile { target: target.to_path_buf(), tmp, file: Some(file) })
    }

    /// The temporary file, for writers that take a path (the plot backends).
    pub fn tmp_path(&self) -> &Path {
        &self.tmp
    }

    /// The file the output becomes.
    pub fn target(&self) -> &Path {
        &self.target
    }

    /// Puts the written bytes in place of the target (durably: synced before the rename).
    pub fn commit(mut self) -> Result<(), CliError> {
        let to = self.target.display().to_string();
        if let Some(f) = self.file.take() {
            f.sync_all().map_err(CliError::write(&to))?;
        }
        std::fs::rename(&self.tmp, &self.target).map_err(CliError::write(&to))?;
        self.tmp = PathBuf::new();
        Ok(())
    }
}

impl Write for OutFile {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self.file.as_mut() {
            Some(f) => f.write(buf),
            None => Err(io::Error::other("output already committed")),
        }
    }
    fn flush(&mut self) -> io::Result<()> {
        self.file.as_mut().map_or(Ok(()), |f| f.flush())
    }
}

impl Drop for OutFile {
    /// Not committed: the command failed, the target stays as it was.
    fn drop(&mut self) {
        if !self.tmp.as_os_str().is_empty() {
            self.file.take();
            let _ = std::fs::remove_file(&self.tmp);
        }
    }
}

/// Folders that do not exist yet and that a command may create for its outputs (`man --out`,
/// `export -o`): on failure, those still empty are removed again, so a failed command leaves
/// no trace. A folder that existed before is never touched, nor one that holds anything.
pub struct NewDirs(Vec<PathBuf>);

impl NewDirs {
    /// Those of `dirs` (and their parents) that do not exist now, outermost first.
    pub fn missing<I: IntoIterator<Item = PathBuf>>(dirs: I) -> NewDirs {
        let mut new = Vec::new();
        for dir in dirs {
            let mut chain: Vec<PathBuf> =
                dir.ancestors().take_while(|a| !a.as_os_str().is_empty() && !a.exists()).map(Path::to_path_buf).collect();
            chain.reverse();
            for d in chain {
                if !new.contains(&d) {
                    new.push(d);
                }
            }
        }
        NewDirs(new)
    }

    /// Removes the noted folders that are empty, innermost first.
    pub fn remove_empty(&self) {
        for d in self.0.iter().rev() {
            let _ = std::fs::remove_dir(d);
        }
    }
}

/// Where a command's report goes: a file (through [`OutFile`]) or standard output (`-` or none).
pub enum Sink<'a> {
    File(io::BufWriter<OutFile>),
    Stdout(io::BufWriter<Box<dyn Write + 'a>>),
}

impl<'a> Sink<'a> {
    /// The output for `target` (`None` or `-`: `stdout`).
    pub fn open(target: Option<&Path>, inputs: &[&Path], stdout: Box<dyn Write + 'a>) -> Result<Sink<'a>, CliError> {
        match target {
            Some(t) if t.as_os_str() != "-" => Ok(Sink::File(io::BufWriter::new(OutFile::create(t, inputs)?))),
            _ => Ok(Sink::Stdout(io::BufWriter::new(stdout))),
        }
    }

    /// Where the bytes go, for messages.
    pub fn name(&self) -> String {
        match self {
            Sink::File(w) => w.get_ref().target().display().to_string(),
            Sink::Stdout(_) => crate::error::STDOUT.to_string(),
        }
    }

    /// Flushes, and puts a file in place.
    pub fn finish(self) -> Result<(), CliError> {
        let to = self.name();
        match self {
            Sink::File(w) => w.into_inner().map_err(|e| CliError::write(&to)(e.into_error()))?.commit(),
            Sink::Stdout(mut w) => w.flush().map_err(CliError::write(&to)),
        }
    }
}

impl Write for Sink<'_> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            Sink::File(w) => w.write(buf),
            Sink::Stdout(w) => w.write(buf),
        }
    }
    fn flush(&mut self) -> io::Result<()> {
        match self {
            Sink::File(w) => w.flush(),
            Sink::Stdout(w) => w.flush(),
        }
    }
}
