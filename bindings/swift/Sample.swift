// How the iOS shell uses MusterCore: the same field day as bindings/kotlin/FieldDay.kt.
//
// Swift cannot be compiled on the project's Linux machines, so this sample is kept true by
// bindings/swift/check_sample.py: after scripts/bindings.sh generates MusterCore.swift, every
// MusterCore type, call, argument label, enum case and field used below must exist there.
// Lines between `drift-check: off` and `drift-check: on` are platform code the check skips.

import Foundation
import MusterCore

// drift-check: off
/// Monotonic time since boot, counting sleep (what the server carries clock offsets across).
func monotonicMs() -> Int64 {
    Int64(clock_gettime_nsec_np(CLOCK_MONOTONIC) / 1_000_000)
}

/// One id per boot of the phone: `kern.bootsessionuuid`.
func bootSessionId() -> String {
    var size = 0
    sysctlbyname("kern.bootsessionuuid", nil, &size, nil, 0)
    var buffer = [CChar](repeating: 0, count: size)
    sysctlbyname("kern.bootsessionuuid", &buffer, &size, nil, 0)
    return String(cString: buffer)
}

func wallMs() -> Int64 {
    Int64(Date().timeIntervalSince1970 * 1000)
}
// drift-check: on

/// The phone's clocks, read by the core at each sync round trip (on a background thread).
final class PhoneClock: DeviceClock, @unchecked Sendable {
    let bootId = bootSessionId()

    func now() -> ClockSample {
        ClockSample(wallMs: wallMs(), monotonicMs: monotonicMs(), bootId: bootId)
    }

    /// A stamp for a lifecycle event, with the latest fix from CLLocationManager if there is one.
    func stamp(fix: GpsFix?) -> Stamp {
        Stamp(wallMs: wallMs(), monotonicMs: monotonicMs(), bootId: bootId, fix: fix)
    }
}

final class ProgressLog: SyncObserver, @unchecked Sendable {
    func onProgress(progress: SyncProgress) {
        // Called on a background thread: hop to the main actor to update the UI.
        let pending = progress.pending
        Task { @MainActor in print("sync: \(progress.roundTrips) round trips, \(pending) waiting") }
    }
}

/// The crew lead's phone. Store calls are short blocking SQLite transactions: run them off the
/// main thread (this actor); sign-in and sync are `async` and never block a thread.
actor LeadPhone {
    let store: MusterStore
    let sync: MusterSyncClient
    let clock = PhoneClock()

    init(databasePath: String) throws {
        store = try MusterStore(path: databasePath)
        let settings = SyncSettings(attempts: 6, firstDelayMs: 500, maxDelayMs: 30_000, requestTimeoutMs: 30_000)
        sync = try MusterSyncClient.withSettings(store: store, settings: settings, clock: clock)
    }

    func signIn(server: String, email: String, password: String) async throws -> UserInfo {
        try await sync.login(serverUrl: server, email: email, password: password, deviceName: "Lead's iPhone")
    }

    /// 06:30, no signal: fill the JSEA offline.
    func fillJsea(site: String, crewMate: String, fix: GpsFix?) throws -> String {
        let id = try store.createJsea(siteId: site, jobId: nil, task: "Replace wellhead master valve",
                                      musterPoint: "Lease gate, upwind", stamp: clock.stamp(fix: fix))
        let bleed = try store.addStep(recordId: id, description: "Isolate, bleed down and lock out")
        let pressure = try store.addHazard(recordId: id, stepId: bleed, description: "Trapped pressure",
                                           severity: 4, likelihood: 3)
        _ = try store.addControl(recordId: id, hazardId: pressure, description: "Double block and bleed",
                                 level: .engineering)
        _ = try store.addControl(recordId: id, hazardId: pressure, description: "Face shield", level: .ppe)
        try store.addCrewMember(recordId: id, userId: crewMate)

        for finding in try store.validate(recordId: id) where finding.level == .blocking {
            print("to fix: \(finding.message) (\(finding.path))")
        }
        do {
            try store.complete(recordId: id, stamp: clock.stamp(fix: fix))
        } catch let MusterError.Blocked(reason, findings) {
            // Show every blocking finding; nothing the person typed is lost.
            print("cannot complete yet: \(reason); \(findings.count) findings")
        }
        try store.sign(recordId: id, stamp: clock.stamp(fix: fix))
        return id
    }

    func preStart(site: String, fix: GpsFix?) throws -> String {
        let unit = EquipmentUnit(unitId: "PU-14", makeModel: "F-350", serial: nil, hourMeter: 1820.5)
        let id = try store.createPreStart(siteId: site, jobId: nil, unit: unit, stamp: clock.stamp(fix: fix))
        let steering = try store.addChecklistItem(recordId: id, label: "Steering", critical: true)
        try store.setItemResult(recordId: id, itemId: steering, result: .fail)
        try store.setDefectNote(recordId: id, itemId: steering, note: "Play in the wheel; tagged out")
        try store.sign(recordId: id, stamp: clock.stamp(fix: fix))
        try store.complete(recordId: id, stamp: clock.stamp(fix: fix))
        return id
    }

    func nearMiss(site: String, fix: GpsFix?) throws -> String {
        let id = try store.createNearMiss(siteId: site, jobId: nil, whatHappened: "Pipe rolled off the rack",
                                          occurredAtMs: wallMs() - 600_000, potentialSeverity: .high,
                                          anonymous: false, stamp: clock.stamp(fix: fix))
        try store.setNearMissLocation(recordId: id, description: "Pipe rack by the compressor", fix: fix)
        try store.complete(recordId: id, stamp: clock.stamp(fix: fix))
        return id
    }

    /// 17:30, signal: sync, then show what came back.
    func syncNow() async throws -> SyncReport {
        let report = try await sync.sync(observer: ProgressLog())
        for rejection in try store.rejections() {
            print("refused \(rejection.recordId): \(rejection.code) \(rejection.reason)")
        }
        return report
    }

    func startWork(jsea id: String, fix: GpsFix?) throws -> [String] {
        try store.complete(recordId: id, stamp: clock.stamp(fix: fix))
        try store.startWork(recordId: id, stamp: clock.stamp(fix: fix))
        let view = try store.record(recordId: id)
        if case let .jsea(form) = view.body {
            print("\(form.task): \(form.signatures.count) signatures, status \(form.status)")
        }
        return view.flags.map { $0.code }
    }

    func lists(site: String) throws -> (unapproved: [RecordSummary], waiting: UInt32) {
        let filter = ListFilter(kind: .jsea, siteId: site, status: nil, flag: "jsea.work_started_without_approval",
                                createdBy: nil, createdFromMs: nil, createdToMs: nil, limit: 50, offset: nil)
        return (try store.list(filter: filter), try store.pendingCount())
    }

    func stopSync() {
        sync.cancel()
    }
}

/// The supervisor's phone approves or rejects (the server refuses it from anyone else).
func review(store: MusterStore, jsea id: String, stamp: Stamp, ok: Bool) throws {
    if ok {
        try store.approve(recordId: id, comment: "Good catch on the bleed-down", stamp: stamp)
    } else {
        try store.reject(recordId: id, comment: "Add the pinch-point hazard for the lift", stamp: stamp)
    }
}

func openOrExplain(path: String) -> MusterStore? {
    do {
        return try MusterStore(path: path)
    } catch let MusterError.StoreUnusable(reason) {
        print("this file is not a Muster store: \(reason)")
    } catch {
        print("unexpected: \(error)")
    }
    return nil
}
