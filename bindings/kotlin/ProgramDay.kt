// The safety program's records through the generated Kotlin bindings on the JVM, against a live
// muster-server: a corrective action raised, resolved and verified across three phones; an
// inspection finding received at the site; a signed orientation; a certificate and a competency
// verification recorded for the operator.
//
// Run by scripts/test-bindings.sh like FieldDay.kt (with Phones.kt). The new kinds have no typed
// form in the bindings: their bodies are read with `recordJson`. Android has org.json for that;
// on the plain JVM a small reader below stands in for it.

import ca.muster.core.FindingLevel
import ca.muster.core.ItemResult
import ca.muster.core.ListFilter
import ca.muster.core.MusterException
import ca.muster.core.RecordBody
import ca.muster.core.RecordKind
import ca.muster.core.RecordSummary
import ca.muster.core.RejectCode
import ca.muster.core.orientationTopics
import java.io.File
import java.net.URI
import java.net.http.HttpClient
import java.net.http.HttpRequest
import java.net.http.HttpResponse
import java.util.UUID
import kotlinx.coroutines.Dispatchers
import kotlinx.coroutines.withContext

const val DAY_MS = 86_400_000L

// -- reading JSON (org.json on Android) ------------------------------------------------------------

/** A minimal JSON reader: objects as maps, arrays as lists, numbers as Long or Double. */
class Json(private val text: String) {
    private var at = 0

    fun read(): Any? = value().also { space(); check(at == text.length) { "trailing text at $at" } }

    private fun space() {
        while (at < text.length && text[at].isWhitespace()) at++
    }

    private fun value(): Any? {
        space()
        return when (val c = text[at]) {
            '{' -> obj()
            '[' -> array()
            '"' -> string()
            't' -> { at += 4; true }
            'f' -> { at += 5; false }
            'n' -> { at += 4; null }
            else -> {
                val start = at
                while (at < text.length && (text[at].isDigit() || text[at] in "-+.eE")) at++
                val number = text.substring(start, at)
                check(number.isNotEmpty()) { "unexpected '$c' at $start" }
                number.toLongOrNull() ?: number.toDouble()
            }
        }
    }

    private fun obj(): Map<String, Any?> {
        expect('{')
        val map = linkedMapOf<String, Any?>()
        space()
        if (text[at] == '}') return map.also { at++ }
        while (true) {
            space()
            val key = string()
            space()
            expect(':')
            map[key] = value()
            space()
            if (text[at++] == '}') return map
        }
    }

    private fun array(): List<Any?> {
        expect('[')
        val list = mutableListOf<Any?>()
        space()
        if (text[at] == ']') return list.also { at++ }
        while (true) {
            list.add(value())
            space()
            if (text[at++] == ']') return list
        }
    }

    private fun expect(c: Char) {
        check(text[at] == c) { "expected '$c' at $at" }
        at++
    }

    private fun string(): String {
        expect('"')
        val out = StringBuilder()
        while (true) {
            when (val c = text[at++]) {
                '"' -> return out.toString()
                '\\' -> when (val e = text[at++]) {
                    'n' -> out.append('\n')
                    't' -> out.append('\t')
                    'r' -> out.append('\r')
                    'b' -> out.append('\b')
                    'f' -> out.append('\u000c')
                    'u' -> { out.append(text.substring(at, at + 4).toInt(16).toChar()); at += 4 }
                    else -> out.append(e)
                }
                else -> out.append(c)
            }
        }
    }
}

@Suppress("UNCHECKED_CAST")
fun Any?.obj(key: String): Map<String, Any?> = (this as Map<String, Any?>)[key] as Map<String, Any?>

@Suppress("UNCHECKED_CAST")
fun Any?.list(key: String): List<Map<String, Any?>> = (this as Map<String, Any?>)[key] as List<Map<String, Any?>>

@Suppress("UNCHECKED_CAST")
fun Any?.field(key: String): Any? = (this as Map<String, Any?>)[key]

/** A JSON string value for `setField` (JSONObject.quote on Android). */
fun quote(s: String): String =
    "\"" + s.replace("\\", "\\\\").replace("\"", "\\\"").replace("\n", "\\n") + "\""

fun body(phone: Phone, id: String): Any? = Json(phone.store.recordJson(id)).read()

fun row(phone: Phone, kind: RecordKind, id: String): RecordSummary {
    val rows = phone.store.list(ListFilter(kind = kind)).filter { it.id == id }
    check(rows.size == 1) { "$id listed once among the $kind records: $rows" }
    return rows.single()
}

/** The record as the office reads it from the server, flags judged at the server's clock. */
fun officeView(url: String, id: String): Any? {
    val http = HttpClient.newHttpClient()
    val login = """{"email":"office@demo.muster","password":"$PASSWORD","device_id":"${UUID.randomUUID()}","device_name":"office test"}"""
    val signIn = HttpRequest.newBuilder(URI("$url/v1/auth/login"))
        .header("Content-Type", "application/json")
        .POST(HttpRequest.BodyPublishers.ofString(login)).build()
    val token = Json(http.send(signIn, HttpResponse.BodyHandlers.ofString()).body()).read().field("access_token") as String
    val get = HttpRequest.newBuilder(URI("$url/v1/records/$id")).header("Authorization", "Bearer $token").GET().build()
    val response = http.send(get, HttpResponse.BodyHandlers.ofString())
    check(response.statusCode() == 200) { "GET /v1/records/$id: ${response.statusCode()} ${response.body()}" }
    return Json(response.body()).read()
}

// -- scenarios -----------------------------------------------------------------------------------

suspend fun correctiveAction(folder: File, url: String) {
    val worker = Phone(folder, "worker", url)
    val lead = Phone(folder, "lead", url)
    val supervisor = Phone(folder, "supervisor", url)
    val workerUser = worker.login("worker@demo.muster")
    val leadUser = lead.login("lead@demo.muster")
    val supervisorUser = supervisor.login("supervisor@demo.muster")
    val site = leadUser.sites.first()
    check(site in workerUser.sites) { "the worker works at the lead's site" }

    // The worker raises an action for the lead, due in a week (store calls off the main thread).
    val due = System.currentTimeMillis() + 7 * DAY_MS
    val action = withContext(Dispatchers.IO) {
        val s = worker.store
        val id = s.createCorrectiveAction(
            site, null, "Guard missing on the pump jack's belt drive", "Refit the belt guard and check the bolts",
            leadUser.id, null, System.currentTimeMillis() - 3_600_000, worker.stamp(),
        )
        val blocked = expectError<MusterException.Blocked>("raising without a due date") { s.complete(id, worker.stamp()) }
        check(blocked.findings.map { it.rule } == listOf("corrective_action.due_date_required")) { "${blocked.findings}" }
        s.setField(id, "assignment/due_ms", due.toString())
        s.complete(id, worker.stamp())
        check(s.record(id).status == "open") { "raised: ${s.record(id).status}" }
        id
    }
    val raised = worker.sync.sync(null)
    check(raised.accepted == 1u && raised.rejected.isEmpty()) { "raised action accepted: $raised" }

    // The lead's phone receives it, the lead writes what was done and resolves it.
    lead.sync.sync(null)
    check(lead.store.record(action).status == "open") { "the lead sees it open" }
    val assigned = lead.store.list(ListFilter(kind = RecordKind.CORRECTIVE_ACTION, assignee = leadUser.id))
    check(action in assigned.map { it.id }) { "listed as the lead's" }
    check(row(lead, RecordKind.CORRECTIVE_ACTION, action).dueAtMs == due) { "due date in the list" }
    val noNote = expectError<MusterException.Invalid>("resolving without a note") { lead.store.sign(action, lead.stamp()) }
    check(noNote.reason.contains("say what was done")) { noNote.reason }
    lead.store.setField(action, "resolution_note", quote("Belt guard refitted with new bolts, torqued"))
    tick()
    lead.store.sign(action, lead.stamp())
    check(lead.store.record(action).status == "resolved") { "resolved" }

    // The lead cannot verify their own fix.
    val own = expectError<MusterException.NotAllowedNow>("the resolver verifying") {
        lead.store.approve(action, "Done", lead.stamp())
    }
    check(own.reason.contains("the person who resolved an action cannot verify it")) { own.reason }
    lead.sync.sync(null)

    // A second phone of the worker's verifies it: the core lets it through (a phone does not know
    // roles) and the server refuses it, saying why.
    val tablet = Phone(folder, "worker-tablet", url)
    tablet.login("worker@demo.muster")
    tablet.sync.sync(null)
    tick()
    tablet.store.approve(action, "Fixed", tablet.stamp())
    val refused = tablet.sync.sync(null)
    check(refused.rejected.map { it.recordId } == listOf(action)) { "the server refused it: $refused" }
    check(refused.rejected[0].code == RejectCode.APPROVAL_NOT_PERMITTED) { "${refused.rejected[0]}" }
    check(refused.rejected[0].reason.contains("may not approve or reject corrective actions")) { refused.rejected[0].reason }

    // The supervisor verifies the fix worked.
    supervisor.sync.sync(null)
    val resolved = body(supervisor, action)
    check(resolved.field("status") == "resolved") { "supervisor sees it resolved: $resolved" }
    check(resolved.obj("resolved").field("user_id") == leadUser.id) { "resolved by the lead" }
    check(resolved.field("verification") == null) { "the refused verification never reached the server" }
    tick()
    supervisor.store.approve(action, "Guard on, belt covered", supervisor.stamp())
    val verified = supervisor.sync.sync(null)
    check(verified.accepted == 1u && verified.rejected.isEmpty()) { "verification accepted: $verified" }

    // The worker's phone shows it closed, verified by the supervisor.
    worker.sync.sync(null)
    val closed = worker.store.record(action)
    check(closed.status == "closed") { "closed: ${closed.status}" }
    check(closed.flags.none { it.code == "corrective_action.stale_verification" }) { "${closed.flags}" }
    val done = body(worker, action)
    val verification = done.obj("verification")
    check(verification.field("decision") == "approved") { "$verification" }
    check(verification.field("by_user_id") == supervisorUser.id) { "verified by the supervisor: $verification" }
    check(verification.field("by_name") == supervisorUser.name) { "$verification" }
    check(done.field("resolution_note") == "Belt guard refitted with new bolts, torqued") { "$done" }
    val listed = row(worker, RecordKind.CORRECTIVE_ACTION, action)
    check(listed.status == "closed" && listed.assignee == leadUser.id) { "$listed" }
    check(listed.completedAtMs != null && listed.closedAtMs!! >= listed.completedAtMs!!) { "resolved then verified: $listed" }
}

suspend fun inspection(folder: File, url: String) {
    val lead = Phone(folder, "lead", url)
    val worker = Phone(folder, "worker", url)
    val leadUser = lead.login("lead@demo.muster")
    worker.login("worker@demo.muster")
    val site = leadUser.sites.first()

    val (id, exits) = withContext(Dispatchers.IO) {
        val s = lead.store
        val form = """{"title": "Weekly wellsite inspection", "inspector_id": ${quote(leadUser.id)}, "items": [], "status": "draft"}"""
        val id = s.createRecord(RecordKind.INSPECTION, site, null, form, lead.stamp())
        val extinguishers = s.addChecklistItem(id, "Fire extinguishers charged and tagged", false)
        val exits = s.addChecklistItem(id, "Exits and walkways clear", false)
        s.setItemResult(id, extinguishers, ItemResult.PASS)
        s.setItemResult(id, exits, ItemResult.FAIL)
        val blocking = s.validate(id).filter { it.level == FindingLevel.BLOCKING }.map { it.rule }.toSet()
        check(blocking == setOf("inspection.defect_note_required", "inspection.sign_off_required")) { "$blocking" }
        s.setDefectNote(id, exits, "Hose reel left across the walkway by the separator")
        Thread.sleep(20)
        s.sign(id, lead.stamp())
        Thread.sleep(20)
        s.complete(id, lead.stamp())
        id to exits
    }
    val report = lead.sync.sync(null)
    check(report.accepted == 1u && report.rejected.isEmpty()) { "inspection accepted: $report" }

    worker.sync.sync(null)
    val seen = worker.store.record(id)
    check(seen.status == "completed" && seen.title == "Weekly wellsite inspection") { "${seen.status} ${seen.title}" }
    check(seen.body is RecordBody.Other) { "read through the generic operations: ${seen.body}" }
    val failed = body(worker, id).list("items").single { it["id"] == exits }
    check(failed["result"] == "fail") { "the failure stands: $failed" }
    check(failed["defect_note"] == "Hose reel left across the walkway by the separator") { "$failed" }
    check(body(worker, id).obj("sign_off").field("user_id") == leadUser.id) { "signed off by the lead" }
    // The server raised a corrective action for the finding, once, and the worker's phone has it.
    val raised = worker.store.list(ListFilter(kind = RecordKind.CORRECTIVE_ACTION))
        .filter { (body(worker, it.id).field("source") as Map<*, *>?)?.get("record_id") == id }
    check(raised.size == 1) { "one action raised for the finding: $raised" }
    check(raised.single().status == "open" && raised.single().createdBy == "system") { "${raised.single()}" }
    val action = body(worker, raised.single().id)
    check(action.obj("source").field("item_id") == exits) { "raised for the failed item: $action" }
    check((action.field("hazard") as String).contains("Hose reel left across the walkway")) { "$action" }
}

suspend fun orientation(folder: File, url: String) {
    val worker = Phone(folder, "worker", url)
    val supervisor = Phone(folder, "supervisor", url)
    val workerUser = worker.login("worker@demo.muster")
    supervisor.login("supervisor@demo.muster")
    val site = workerUser.sites.last()

    val id = withContext(Dispatchers.IO) {
        val s = worker.store
        val id = s.createOrientation(site, null, workerUser.id, "Sam Supervisor", worker.stamp())
        val topics = orientationTopics()
        check(topics.map { it.name } == listOf("safety_program", "site_hazards", "emergency_procedures", "right_to_refuse")) { "$topics" }
        val blocked = expectError<MusterException.Blocked>("completing before acknowledging") { s.complete(id, worker.stamp()) }
        check(blocked.findings.count { it.rule == "orientation.topic_unacknowledged" } == 4) { "${blocked.findings}" }
        topics.forEach { s.acknowledgeTopic(id, it.topic) }
        Thread.sleep(20)
        s.sign(id, worker.stamp())
        Thread.sleep(20)
        s.complete(id, worker.stamp())
        id
    }
    val report = worker.sync.sync(null)
    check(report.accepted == 1u && report.rejected.isEmpty()) { "orientation accepted: $report" }

    supervisor.sync.sync(null)
    val seen = supervisor.store.record(id)
    check(seen.status == "signed" && seen.findings.isEmpty()) { "${seen.status} ${seen.findings}" }
    val received = body(supervisor, id)
    check(received.obj("worker_signature").field("user_id") == workerUser.id) { "signed by the worker: $received" }
    check(received.list("acknowledgements").all { it["acknowledged"] == true }) { "$received" }
    val notTheirs = expectError<MusterException.NotAllowedNow>("the supervisor signing the worker's orientation") {
        supervisor.store.sign(id, supervisor.stamp())
    }
    check(notTheirs.reason.contains("only the worker oriented signs")) { notTheirs.reason }
}

suspend fun certificateAndCompetency(folder: File, url: String) {
    val supervisor = Phone(folder, "supervisor", url)
    val operator = Phone(folder, "operator", url)
    val supervisorUser = supervisor.login("supervisor@demo.muster")
    val operatorUser = operator.login("operator@demo.muster")
    val site = operatorUser.sites.first()
    check(site in supervisorUser.sites) { "the supervisor works at the operator's site" }

    val now = System.currentTimeMillis()
    val expiry = now + 20 * DAY_MS
    val (certificate, competency) = withContext(Dispatchers.IO) {
        val s = supervisor.store
        val ticket = """{"holder_id": ${quote(operatorUser.id)}, "certificate_type": "H2S Alive", "number": "H2S-77120",
            "issuer": "Energy Safety Canada", "issued_ms": ${now - 3 * 365 * DAY_MS + 20 * DAY_MS}, "expiry_ms": $expiry,
            "document_ref": "Office binder, tab 4", "status": "draft"}"""
        val certificate = s.createRecord(RecordKind.CERTIFICATE, site, null, ticket, supervisor.stamp())
        s.complete(certificate, supervisor.stamp())
        check(s.record(certificate).status == "recorded") { "recorded" }

        val form = """{"worker_id": ${quote(operatorUser.id)}, "equipment_type": "loader", "items": [], "status": "draft"}"""
        val competency = s.createRecord(RecordKind.COMPETENCY, site, null, form, supervisor.stamp())
        for (label in listOf("Walk-around and pre-start", "Bucket control and load handling", "Parking and shutdown")) {
            s.setItemResult(competency, s.addChecklistItem(competency, label, true), ItemResult.PASS)
        }
        Thread.sleep(20)
        s.sign(competency, supervisor.stamp())
        Thread.sleep(20)
        s.complete(competency, supervisor.stamp())
        check(s.record(competency).status == "verified") { "verified" }
        certificate to competency
    }
    val report = supervisor.sync.sync(null)
    check(report.accepted == 2u && report.rejected.isEmpty()) { "both accepted: $report" }

    operator.sync.sync(null)
    val cert = operator.store.record(certificate)
    check(cert.status == "recorded" && cert.title == "H2S Alive No. H2S-77120") { "${cert.status} ${cert.title}" }
    val held = body(operator, certificate)
    check(held.field("holder_id") == operatorUser.id && held.field("expiry_ms") == expiry) { "$held" }
    check(row(operator, RecordKind.CERTIFICATE, certificate).dueAtMs == expiry) { "expiry listed as its due date" }
    val skill = operator.store.record(competency)
    check(skill.status == "verified" && skill.findings.isEmpty()) { "${skill.status} ${skill.findings}" }
    val verified = body(operator, competency)
    check(verified.obj("verifier").field("user_id") == supervisorUser.id) { "verified by the supervisor: $verified" }
    check(verified.field("equipment_type") == "loader") { "$verified" }

    // The expiry alert is the server's: judged at its clock, not on the phone.
    check(cert.flags.none { it.code == "certificate.expiring" }) { "${cert.flags}" }
    @Suppress("UNCHECKED_CAST")
    val flags = officeView(url, certificate).field("flags") as List<Map<String, Any?>>
    val alert = flags.single { it["code"] == "certificate.expiring" }
    check(alert.obj("evidence").field("alert") == "30 days") { "$alert" }
    check(alert.obj("evidence").field("holder") == operatorUser.id) { "$alert" }
}

fun main(args: Array<String>) = runScenarios(
    "kotlin program day", args,
    listOf(
        "a corrective action is raised, resolved and verified across three phones" to ::correctiveAction,
        "an inspection finding reaches another phone at the site" to ::inspection,
        "a worker signs an orientation and the supervisor receives it" to ::orientation,
        "a supervisor records a certificate and a competency for the operator" to ::certificateAndCompetency,
    ),
)
