// A field day through the generated Kotlin bindings on the JVM (JNA), against a live muster-server.
//
// Run by scripts/test-bindings.sh: compiled with kotlinc against the generated
// ca/muster/core/muster_mobile.kt and Phones.kt (the phone and the scenario runner), run with
// -Djna.library.path=<folder of libmuster_mobile.so> and the server's URL as the first argument.
// It is also the Android shell's usage sample: the same calls, from the same kinds of threads
// (store calls off the main thread, sync as a suspend call).

import ca.muster.core.ControlLevel
import ca.muster.core.EquipmentUnit
import ca.muster.core.FindingLevel
import ca.muster.core.ItemResult
import ca.muster.core.ListFilter
import ca.muster.core.MusterException
import ca.muster.core.MusterStore
import ca.muster.core.RecordBody
import ca.muster.core.RecordKind
import ca.muster.core.RecordView
import ca.muster.core.RejectCode
import ca.muster.core.Role
import ca.muster.core.Severity
import ca.muster.core.SyncObserver
import ca.muster.core.SyncProgress
import ca.muster.core.coreVersion
import java.io.File
import kotlinx.coroutines.Dispatchers
import kotlinx.coroutines.withContext

class Progress : SyncObserver {
    val seen = mutableListOf<SyncProgress>()
    override fun onProgress(progress: SyncProgress) {
        synchronized(seen) { seen.add(progress) }
    }
}

fun jsea(view: RecordView) = (view.body as RecordBody.Jsea).form

fun codes(view: RecordView) = view.flags.map { it.code }.sorted()

suspend fun fieldDay(folder: File, url: String) {
    val lead = Phone(folder, "lead", url)
    val worker = Phone(folder, "worker", url)
    val supervisor = Phone(folder, "supervisor", url)
    val leadUser = lead.login("lead@demo.muster")
    val workerUser = worker.login("worker@demo.muster")
    val supervisorUser = supervisor.login("supervisor@demo.muster")
    check(leadUser.role == Role.WORKER) { "lead is a worker: ${leadUser.role}" }
    check(supervisorUser.role == Role.SUPERVISOR) { "supervisor role: ${supervisorUser.role}" }
    val site = leadUser.sites.first()
    check(site in workerUser.sites) { "the worker works at the lead's site" }
    val otherSite = workerUser.sites.first { it !in leadUser.sites }

    // Store calls are short blocking SQLite transactions: off the main thread, as on Android.
    val (jseaId, preId, nearMissId) = withContext(Dispatchers.IO) {
        val s = lead.store
        val id = s.createJsea(site, null, "Replace wellhead master valve", "Lease gate, upwind", lead.stamp())
        val bleed = s.addStep(id, "Isolate, bleed down and lock out the wellhead")
        val pressure = s.addHazard(id, bleed, "Trapped pressure released at the valve", 4u, 3u)
        s.addControl(id, pressure, "Double block and bleed, verify zero", ControlLevel.ENGINEERING)
        s.addControl(id, pressure, "Face shield and FR coveralls", ControlLevel.PPE)
        val lift = s.addStep(id, "Lift the old valve out with the picker")
        val pinch = s.addHazard(id, lift, "Hands caught between valve and flange", 3u, 3u)
        s.addControl(id, pinch, "Impact gloves", ControlLevel.PPE)
        s.addCrewMember(id, workerUser.id)

        val blockingRules = s.validate(id).filter { it.level == FindingLevel.BLOCKING }.map { it.rule }.toSet()
        check("jsea.ppe_only_without_justification" in blockingRules) { "PPE-only finding: $blockingRules" }
        val blocked = expectError<MusterException.Blocked>("completing an unsigned JSEA") {
            s.complete(id, lead.stamp())
        }
        check(blocked.findings.map { it.rule }.toSet() == blockingRules) { "Blocked lists the findings: ${blocked.findings}" }
        check(blocked.reason.contains("no justification")) { blocked.reason }

        s.setPpeJustification(id, pinch, "Tag lines keep hands clear; gloves for the final set")
        Thread.sleep(20)
        s.sign(id, lead.stamp(offsetM = 3.0))

        val pre = s.createPreStart(site, null, EquipmentUnit(unitId = "PU-14", makeModel = "F-350", hourMeter = 1820.5), lead.stamp())
        val brakes = s.addChecklistItem(pre, "Service brakes", true)
        val steering = s.addChecklistItem(pre, "Steering", true)
        s.setItemResult(pre, brakes, ItemResult.PASS)
        s.setItemResult(pre, steering, ItemResult.FAIL)
        s.setDefectNote(pre, steering, "Play in the wheel over 5 cm; tagged out")
        s.sign(pre, lead.stamp())
        s.complete(pre, lead.stamp())

        val nm = s.createNearMiss(otherSite, null, "Pipe rolled off the rack toward the walkway",
            System.currentTimeMillis() - 600_000, Severity.HIGH, false, lead.stamp())
        s.setNearMissLocation(nm, "Pipe rack by the compressor", lead.stamp().fix)
        s.complete(nm, lead.stamp())
        check(s.pendingCount() == 3u) { "three records queued: ${s.pendingCount()}" }
        Triple(id, pre, nm)
    }

    val progress = Progress()
    val report = lead.sync.sync(progress)
    check(report.accepted == 2u) { "JSEA and pre-start accepted: $report" }
    check(progress.seen.isNotEmpty()) { "progress reported" }
    check(report.rejected.map { it.recordId } == listOf(nearMissId)) { "near-miss refused: ${report.rejected}" }
    val rejection = lead.store.rejection(nearMissId)
    check(rejection?.code == RejectCode.OUT_OF_SCOPE) { "rejection reason kept: $rejection" }
    check(lead.store.pendingCount() == 1u) { "the refused near-miss stays on the phone" }

    worker.sync.sync(null)
    check(jsea(worker.store.record(jseaId)).signatures.map { it.userId } == listOf(leadUser.id)) { "worker sees the lead's signature" }
    tick()
    worker.store.sign(jseaId, worker.stamp(offsetM = 8.0))
    worker.sync.sync(null)

    lead.sync.sync(null)
    val merged = lead.store.record(jseaId)
    val form = jsea(merged)
    check(form.signatures.map { it.userId }.sorted() == listOf(leadUser.id, workerUser.id).sorted()) { "both signatures merged: ${form.signatures}" }
    check(form.signatures.map { it.contentHash }.toSet().size == 1) { "both signed the same content" }
    check("jsea.stale_signature" !in codes(merged)) { "no stale signature: ${codes(merged)}" }
    check(form.steps[0].hazards[0].controls.map { it.level } == listOf(ControlLevel.ENGINEERING, ControlLevel.PPE)) { "controls kept their levels" }

    tick()
    lead.store.complete(jseaId, lead.stamp())
    tick()
    lead.store.startWork(jseaId, lead.stamp())
    val started = lead.store.record(jseaId)
    check("jsea.work_started_without_approval" in codes(started)) { "flagged: ${codes(started)}" }
    // The lead's phone also holds the lead's records from earlier days: look for today's.
    val unapproved = lead.store.list(ListFilter(flag = "jsea.work_started_without_approval"))
    check(jseaId in unapproved.map { it.id }) { "list by flag" }
    check(unapproved.all { "jsea.work_started_without_approval" in it.flags }) { "the filter holds" }
    val outOfService = lead.store.list(ListFilter(kind = RecordKind.PRE_START, flag = "pre_start.out_of_service"))
    check(preId in outOfService.map { it.id }) { "out of service pre-start" }
    check(outOfService.all { it.kind == "pre_start" }) { "only pre-starts" }
    check(jseaId !in lead.store.list(ListFilter(kind = RecordKind.NEAR_MISS)).map { it.id }) { "kind filter" }
    lead.sync.sync(null)

    supervisor.sync.sync(null)
    tick()
    supervisor.store.approve(jseaId, "Good catch on the bleed-down", supervisor.stamp())
    supervisor.sync.sync(null)
    lead.sync.sync(null)
    val approved = lead.store.record(jseaId)
    check(jsea(approved).approval?.byUserId == supervisorUser.id) { "approval merged" }
    check("jsea.approved_after_work_started" in codes(approved)) { "approved late: ${codes(approved)}" }
    check("jsea.work_started_without_approval" !in codes(approved)) { "no longer unapproved: ${codes(approved)}" }
}

suspend fun badInput(folder: File, url: String) {
    val junk = File(folder, "notes.db")
    junk.writeText("not a database: gloves, flagging tape, coffee\n")
    val refused = expectError<MusterException.StoreUnusable>("opening a text file as a store") { MusterStore(junk.path) }
    check(refused.reason.contains("notes.db")) { refused.reason }
    check(junk.readText().startsWith("not a database")) { "the file is left untouched" }

    val phone = Phone(folder, "bad", url)
    expectError<MusterException.NotSignedIn>("creating before sign-in") {
        phone.store.createJsea("site", null, "task", "gate", phone.stamp())
    }
    val wrong = expectError<MusterException.Server>("wrong password") {
        phone.sync.login(url, "lead@demo.muster", "not the password", "phone")
    }
    check(wrong.status == 401.toUShort()) { "401 for a wrong password: ${wrong.status}" }
    val user = phone.login("lead@demo.muster")
    val id = phone.store.createJsea(user.sites.first(), null, "Hydrovac daylighting", "Truck", phone.stamp(withFix = false))
    expectError<MusterException.NotFound>("hazard on a missing step") { phone.store.addHazard(id, "no-such-step", "Buried line", 5u, 2u) }
    expectError<MusterException.Invalid>("checklist item on a JSEA") { phone.store.addChecklistItem(id, "Brakes", true) }
    expectError<MusterException.NotAllowedNow>("approving a draft") { phone.store.approve(id, null, phone.stamp()) }
    check(phone.store.record(id).header.created.fix == null) { "a stamp without a fix is kept as such" }
    check(coreVersion().isNotEmpty()) { "core version" }
}

fun main(args: Array<String>) = runScenarios(
    "kotlin field day", args,
    listOf(
        "two phones fill, sign, sync and see the merged JSEA and its flags" to ::fieldDay,
        "bad input is the public error, not a crash" to ::badInput,
    ),
)
