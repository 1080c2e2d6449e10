//! `MusterSyncClient`: sign-in and sync (`sync_core::sync::SyncClient`) as async methods.
//!
//! Async exports run on uniffi's tokio-compatible executor (`async_runtime = "tokio"`), so Swift
//! sees `async` functions, Kotlin `suspend` functions and Python coroutines; the network never
//! blocks the caller's thread. Each call opens its own connection to the store's file, so edits
//! on the `MusterStore` go on while a sync waits on the network (SQLite WAL; each side's writes
//! are short transactions).

use std::sync::Arc;

use crate::error::Result;
use crate::store::MusterStore;
use crate::types::{ClockSample, RegisterUnit, SyncProgress, SyncReport, SyncSettings, UserInfo};

/// Told after every sync round trip. Called on a background thread: hop to the UI thread to
/// show it.
#[uniffi::export(with_foreign)]
pub trait SyncObserver: Send + Sync {
    fn on_progress(&self, progress: SyncProgress);
}

/// The device's clocks, read at each sync round trip for the server's clock-offset estimate:
/// wall time, monotonic time since boot and the boot id, exactly as the shell stamps events.
/// Called on a background thread.
#[uniffi::export(with_foreign)]
pub trait DeviceClock: Send + Sync {
    fn now(&self) -> ClockSample;
}

/// Signs a device in and syncs one `MusterStore` with the server.
#[derive(Debug, uniffi::Object)]
pub struct MusterSyncClient {
    inner: sync_core::sync::SyncClient,
    store: Arc<MusterStore>,
    /// One sync (or sign-in) at a time per client; a second call waits for the first.
    running: tokio::sync::Mutex<()>,
}

impl MusterSyncClient {
    /// A second connection to the store's file, owned by one network call.
    fn connection(&self) -> Result<sync_core::Store> {
        Ok(sync_core::Store::open(self.store.path())?)
    }
}

#[uniffi::export(async_runtime = "tokio")]
impl MusterSyncClient {
    /// A client with the default retry settings and this process's clocks.
    #[uniffi::constructor]
    pub fn new(store: Arc<MusterStore>) -> Result<Arc<Self>> {
        Self::with_settings(store, SyncSettings::default(), None)
    }

    /// A client with its own retry settings and, from a shell, the device's clocks.
    #[uniffi::constructor]
    pub fn with_settings(
        store: Arc<MusterStore>,
        settings: SyncSettings,
        clock: Option<Arc<dyn DeviceClock>>,
    ) -> Result<Arc<Self>> {
        let mut inner = sync_core::sync::SyncClient::new(settings.into())?;
        if let Some(clock) = clock {
            inner = inner.with_clock(Arc::new(move || clock.now().into()));
        }
        Ok(Arc::new(Self {
            inner,
            store,
            running: tokio::sync::Mutex::new(()),
        }))
    }

    /// The default retry settings, for a shell that wants to change one of them.
    pub fn default_settings(&self) -> SyncSettings {
        SyncSettings::default()
    }

    /// Enrolls this device with the server and signs the person in; the tokens stay in the
    /// store so the device can sync after weeks offline.
    pub async fn login(
        &self,
        server_url: String,
        email: String,
        password: String,
        device_name: String,
    ) -> Result<UserInfo> {
        let _one = self.running.lock().await;
        let mut store = self.connection()?;
        let user = self
            .inner
            .login(&mut store, &server_url, &email, &password, &device_name)
            .await?;
        self.store.reload()?;
        Ok(user.into())
    }

    /// Pushes every queued change and pulls everything new. `observer` is told after each round
    /// trip. Records the server refuses come back in the report (and from
    /// `MusterStore.rejections`); they are kept, never dropped.
    pub async fn sync(&self, observer: Option<Arc<dyn SyncObserver>>) -> Result<SyncReport> {
        let _one = self.running.lock().await;
        let mut store = self.connection()?;
        let report = self
            .inner
            .sync(&mut store, &|progress| {
                if let Some(observer) = &observer {
                    observer.on_progress(progress.into());
                }
            })
            .await?;
        Ok(report.into())
    }

    /// Fetches the company's equipment register and keeps it on the phone, so an operator offline
    /// picks a unit the office knows (`MusterStore.equipment_register`). Offline it fails with
    /// `MusterError.Offline` and the register kept before stays.
    pub async fn refresh_equipment_register(&self) -> Result<Vec<RegisterUnit>> {
        let _one = self.running.lock().await;
        let mut store = self.connection()?;
        let register = self.inner.refresh_equipment_register(&mut store).await?;
        Ok(register.units.into_iter().map(Into::into).collect())
    }

    /// Asks a running sync to stop after the current round trip; it then fails with
    /// `MusterError.Cancelled`. Nothing is lost. Safe to call from any thread.
    pub fn cancel(&self) {
        self.inner.cancel();
    }
}
