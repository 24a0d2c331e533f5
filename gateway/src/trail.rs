//! Writing a trail: one append-only file of hash-chained, HMAC-authenticated JSON lines per
//! instance (the line format is `integrity`'s, described in `docs/trail.md`).
//!
//! A dedicated thread owns the file, so blocking writes and fsyncs never stall the runtime. It
//! takes every record queued, writes them, flushes (and fsyncs, with `sync: true`) once for the
//! batch, then answers each waiting request: a caller whose upload the core stored gets its
//! answer only once the record is on disk. Past `rotate_at` the file is renamed
//! `<file>.<unix ms>` and a new one starts; the chain goes on across files (the first record of
//! the new file holds the hash of the old file's last line).
//!
//! At start the existing file is verified. If it ends with a broken line (a crash mid-write) or
//! was altered, it is renamed `<file>.broken-<unix ms>`, never rewritten, and the chain resumes
//! from its last good line in a new file.

use std::fs::{File, OpenOptions};
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::sync::mpsc::{Receiver, SyncSender, TrySendError};
use std::sync::{Arc, Mutex};

use integrity::{Chain, Entry, Key, LineHash};
use tokio::sync::oneshot;

use crate::config::TrailSettings;

/// Records queued at most; past that, callers are refused (503) rather than kept waiting.
const QUEUE: usize = 4096;

/// Why a record could not be written.
#[derive(Debug, Clone, thiserror::Error)]
pub(crate) enum TrailError {
    /// The queue is full (the disk is too slow for the traffic).
    #[error("the trail's queue is full")]
    Busy,
    /// The writer stopped or the disk refused the write.
    #[error("the trail could not be written: {0}")]
    Write(String),
}

/// Why a trail could not start.
#[derive(Debug, thiserror::Error)]
#[error("trail `{name}` ({file}): {reason}")]
pub struct TrailStartError {
    name: String,
    file: String,
    reason: String,
}

/// Where the chain stands, for the admin endpoint and metrics (an operator anchors `head`
/// elsewhere to detect records cut off the end).
#[derive(Debug, Clone, serde::Serialize)]
pub(crate) struct TrailStatus {
    pub(crate) file: String,
    pub(crate) instance: String,
    /// Sequence number of the last record written (0: none yet).
    pub(crate) last_seq: u64,
    /// SHA-256 of the last line written, hex.
    pub(crate) head: String,
}

struct Job {
    entry: Entry,
    done: Option<oneshot::Sender<Result<(), TrailError>>>,
}

/// A running trail.
pub(crate) struct Trail {
    name: String,
    queue: SyncSender<Job>,
    status: Arc<Mutex<TrailStatus>>,
}

// === impl Trail ===

impl Trail {
    /// Opens (verifying and resuming) the file and starts the writer thread.
    pub(crate) fn start(settings: &TrailSettings) -> Result<Arc<Self>, TrailStartError> {
        let fail = |reason: String| TrailStartError {
            name: settings.name.clone(),
            file: settings.file.display().to_string(),
            reason,
        };
        let key = || Key::new(&settings.key.0).map_err(|e| fail(e.to_string()));
        if let Some(dir) = settings.file.parent() {
            std::fs::create_dir_all(dir)
                .map_err(|e| fail(format!("cannot create its folder: {e}")))?;
        }
        let chain = resume(&settings.file, key()?, &settings.instance).map_err(fail)?;
        let file = append(&settings.file).map_err(|e| fail(format!("cannot open: {e}")))?;
        let anchor = chain.anchor();
        let status = Arc::new(Mutex::new(TrailStatus {
            file: settings.file.display().to_string(),
            instance: settings.instance.clone(),
            last_seq: anchor.next_seq.saturating_sub(1),
            head: anchor.prev.to_string(),
        }));
        let (queue, jobs) = std::sync::mpsc::sync_channel(QUEUE);
        let writer = Writer {
            name: settings.name.clone(),
            path: settings.file.clone(),
            file,
            chain,
            rotate_at: settings.rotate_at,
            sync: settings.sync,
            status: Arc::clone(&status),
        };
        std::thread::Builder::new()
            .name(format!("trail-{}", settings.name))
            .spawn(move || writer.run(&jobs))
            .map_err(|e| fail(format!("cannot start its writer: {e}")))?;
        Ok(Arc::new(Self {
            name: settings.name.clone(),
            queue,
            status,
        }))
    }

    /// Writes a record and waits until it is on disk.
    pub(crate) async fn record(&self, entry: Entry) -> Result<(), TrailError> {
        let (done, written) = oneshot::channel();
        self.enqueue(Job {
            entry,
            done: Some(done),
        })?;
        written
            .await
            .unwrap_or_else(|_| Err(TrailError::Write("the writer stopped".into())))
    }

    /// Queues a record without waiting (the end of a download, seen inside a body).
    pub(crate) fn record_later(&self, entry: Entry) {
        if let Err(e) = self.enqueue(Job { entry, done: None }) {
            tracing::error!(trail = %self.name, error = %e, "a trail record was lost");
        }
    }

    fn enqueue(&self, job: Job) -> Result<(), TrailError> {
        self.queue.try_send(job).map_err(|e| match e {
            TrySendError::Full(_) => TrailError::Busy,
            TrySendError::Disconnected(_) => TrailError::Write("the writer stopped".into()),
        })
    }

    /// Where the chain stands.
    pub(crate) fn status(&self) -> TrailStatus {
        self.status
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }
}

struct Writer {
    name: String,
    path: PathBuf,
    file: File,
    chain: Chain,
    rotate_at: u64,
    sync: bool,
    status: Arc<Mutex<TrailStatus>>,
}

impl Writer {
    fn run(mut self, jobs: &Receiver<Job>) {
        while let Ok(first) = jobs.recv() {
            let mut batch = vec![first];
            batch.extend(jobs.try_iter().take(255));
            let result = self.write(&mut batch);
            if let Err(e) = &result {
                tracing::error!(trail = %self.name, error = %e, "trail write failed");
            }
            for job in batch {
                if let Some(done) = job.done {
                    let _ = done.send(result.clone());
                }
            }
            if let Err(e) = self.rotate_if_due() {
                tracing::error!(trail = %self.name, error = %e, "trail rotation failed; writing on");
            }
        }
    }

    fn write(&mut self, batch: &mut [Job]) -> Result<(), TrailError> {
        let io = |e: std::io::Error| TrailError::Write(e.to_string());
        let mut text = String::new();
        let mut head = None;
        for job in batch.iter() {
            let line = self
                .chain
                .seal(job.entry.clone())
                .map_err(|e| TrailError::Write(e.to_string()))?;
            head = Some(LineHash::of(&line));
            text.push_str(&line);
            text.push('\n');
        }
        self.file.write_all(text.as_bytes()).map_err(io)?;
        self.file.flush().map_err(io)?;
        if self.sync {
            self.file.sync_data().map_err(io)?;
        }
        let anchor = self.chain.anchor();
        let mut status = self
            .status
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        status.last_seq = anchor.next_seq.saturating_sub(1);
        if let Some(head) = head {
            status.head = head.to_string();
        }
        metrics::counter!("gateway_trail_records_total", "trail" => self.name.clone())
            .increment(batch.len() as u64);
        Ok(())
    }

    fn rotate_if_due(&mut self) -> std::io::Result<()> {
        if self.file.metadata()?.len() < self.rotate_at {
            return Ok(());
        }
        std::fs::rename(&self.path, aside(&self.path, ""))?;
        self.file = append(&self.path)?;
        tracing::info!(trail = %self.name, "trail rotated; the chain goes on in a new file");
        Ok(())
    }
}

fn append(path: &Path) -> std::io::Result<File> {
    OpenOptions::new().create(true).append(true).open(path)
}

/// `<file>.<tag><unix ms>`: where a rotated or broken file goes.
fn aside(path: &Path, tag: &str) -> PathBuf {
    let ms = jiff::Timestamp::now().as_millisecond();
    let mut name = path.as_os_str().to_owned();
    name.push(format!(".{tag}{ms}"));
    PathBuf::from(name)
}

/// The chain to continue: from the file's last line when it verifies, from its last good line
/// (the file set aside) when it does not, from the start when there is no file.
fn resume(path: &Path, key: Key, instance: &str) -> Result<Chain, String> {
    let file = match File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Chain::new(key, instance)),
        Err(e) => return Err(format!("cannot read: {e}")),
    };
    let lines: Vec<String> = BufReader::new(file)
        .lines()
        .collect::<Result<_, _>>()
        .map_err(|e| format!("cannot read: {e}"))?;
    if lines.is_empty() {
        return Ok(Chain::new(key, instance));
    }
    let good = match integrity::verify(&key, lines.iter().map(String::as_str), None) {
        Ok(_) => lines.len(),
        Err(broken) => {
            let moved = aside(path, "broken-");
            std::fs::rename(path, &moved)
                .map_err(|e| format!("cannot set the broken file aside: {e}"))?;
            tracing::error!(file = %path.display(), line = broken.line, fault = %broken.fault,
                moved_to = %moved.display(),
                "the trail does not verify; it was set aside and the chain resumes from its last good line");
            broken.line - 1
        }
    };
    match good.checked_sub(1).and_then(|i| lines.get(i)) {
        None => Ok(Chain::new(key, instance)),
        Some(last) => Chain::resume(key, instance, last).map_err(|e| format!("cannot resume: {e}")),
    }
}

/// `gateway audit verify`: checks files written in order (a rotated chain), each anchored on the
/// one before. Returns one line of summary, or the first broken line.
///
/// # Errors
/// `file: line N: reason` for the first line that does not verify.
pub fn verify_files(key: &[u8], files: &[PathBuf]) -> Result<String, String> {
    let key = Key::new(key).map_err(|e| format!("key: {e}"))?;
    let mut anchor = None;
    let mut total = 0usize;
    let mut head = None;
    for path in files {
        let text = std::fs::read_to_string(path)
            .map_err(|e| format!("{}: cannot read: {e}", path.display()))?;
        // A file rotated in just after its predecessor filled holds nothing yet.
        if text.is_empty() && files.len() > 1 {
            continue;
        }
        let summary = integrity::verify(&key, text.lines(), anchor)
            .map_err(|b| format!("{}: line {}: {}", path.display(), b.line, b.fault))?;
        total += summary.records;
        anchor = Some(summary.anchor());
        head = Some(summary.head);
    }
    let head = head.map_or_else(|| "-".to_owned(), |h| h.to_string());
    Ok(format!(
        "ok: {total} records in {} file(s), head {head}",
        files.len()
    ))
}
