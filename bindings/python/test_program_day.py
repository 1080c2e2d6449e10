"""The safety program's records through the generated Python bindings, against a live muster-server.

Run by scripts/test-bindings.sh (the same MUSTER_URL and MUSTER_PYTHON as test_field_day.py).

Phones of the demo company, each a real SQLite store in a temporary folder:
- a worker raises a corrective action for the crew lead; the lead resolves it; the supervisor
  verifies the fix; the worker's phone sees it closed. The lead cannot verify their own fix (the
  core refuses it), and a verification from a phone whose person may not verify is refused by the
  server and kept on that phone with the reason;
- the lead files an inspection with a failed item, and the worker's phone receives the finding and
  the corrective action the server raised for it;
- the worker fills and signs a site orientation, and the supervisor's phone receives it signed;
- the supervisor records the operator's certificate and verifies the operator on the loader, and
  the operator's phone receives both and alerts the operator to the certificate's expiry, as the
  server does the office;
- the operator's phone fetches and keeps the equipment register, with the loader out of service;
- the worker acknowledges the right to refuse and reports a fire in the generator enclosure; the
  office sees the incident prompted as possibly reportable, with the rule, and the worker's phone
  holds the site's emergency plan offline.
"""

import asyncio
import json
import os
import tempfile
import time
import unittest
import urllib.request
import uuid

from test_field_day import PASSWORD, URL, Phone, flag_codes, tick  # also puts the bindings on sys.path

from muster_mobile import (  # noqa: E402
    FindingLevel,
    ItemResult,
    ListFilter,
    MusterError,
    RecordKind,
    RejectCode,
    orientation_topics,
)

DAY_MS = 86_400_000


def now_ms():
    return int(time.time() * 1000)


def body(phone, record_id):
    """The record's body as the generic operations see it."""
    return json.loads(phone.store.record_json(record_id))


def row(phone, kind, record_id):
    rows = [r for r in phone.store.list(ListFilter(kind=kind)) if r.id == record_id]
    assert len(rows) == 1, f"{record_id} listed once among the {kind} records: {rows}"
    return rows[0]


def office_view(record_id):
    """The record as the office reads it from the server (GET /v1/records/{id}), flags judged at
    the server's clock: phones do not judge time-dependent flags (due dates, expiries)."""

    def call(path, payload=None, token=None):
        request = urllib.request.Request(URL + path, data=None if payload is None else json.dumps(payload).encode())
        request.add_header("Content-Type", "application/json")
        if token:
            request.add_header("Authorization", f"Bearer {token}")
        with urllib.request.urlopen(request, timeout=20) as response:
            return json.loads(response.read())

    login = call("/v1/auth/login", {"email": "office@demo.muster", "password": PASSWORD,
                                    "device_id": str(uuid.uuid4()), "device_name": "office test"})
    return call(f"/v1/records/{record_id}", token=login["access_token"])


class ProgramDay(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.TemporaryDirectory(prefix="muster-py-program-")
        self.folder = self.dir.name

    def tearDown(self):
        self.dir.cleanup()

    def test_a_corrective_action_is_raised_resolved_and_verified_across_three_phones(self):
        asyncio.run(self.corrective_action())

    async def corrective_action(self):
        worker, lead, supervisor = (Phone(self.folder, n) for n in ("worker", "lead", "supervisor"))
        worker_user = await worker.login("worker@demo.muster")
        lead_user = await lead.login("lead@demo.muster")
        supervisor_user = await supervisor.login("supervisor@demo.muster")
        site = lead_user.sites[0]
        self.assertIn(site, worker_user.sites)

        # The worker finds the hazard and raises an action for the lead, due in a week.
        due = now_ms() + 7 * DAY_MS
        action = worker.store.create_corrective_action(
            site, None, "Handrail on the tank stairs is loose at the top landing",
            "Re-weld the handrail bracket and load test the rail", lead_user.id, None,
            now_ms() - 3_600_000, worker.stamp())
        with self.assertRaises(MusterError.Blocked) as blocked:
            worker.store.complete(action, worker.stamp())
        self.assertEqual([f.rule for f in blocked.exception.findings], ["corrective_action.due_date_required"])
        worker.store.set_field(action, "assignment/due_ms", json.dumps(due))
        worker.store.complete(action, worker.stamp())
        self.assertEqual(worker.store.record(action).status, "open")
        report = await worker.sync()
        self.assertEqual(report.accepted, 1, report)
        self.assertEqual(report.rejected, [])

        # The lead's phone receives it as the lead's to fix, writes what was done and resolves it.
        await lead.sync()
        received = lead.store.record(action)
        self.assertEqual(received.status, "open")
        self.assertEqual(received.title, "Re-weld the handrail bracket and load test the rail")
        mine = lead.store.list(ListFilter(kind=RecordKind.CORRECTIVE_ACTION, assignee=lead_user.id))
        self.assertIn(action, [r.id for r in mine])
        self.assertEqual(row(lead, RecordKind.CORRECTIVE_ACTION, action).due_at_ms, due)
        with self.assertRaises(MusterError.Invalid) as no_note:
            lead.store.sign(action, lead.stamp())
        self.assertIn("say what was done", no_note.exception.reason)
        lead.store.set_field(action, "resolution_note", json.dumps("Bracket re-welded; rail held 90 kg at the landing"))
        await tick()
        lead.store.sign(action, lead.stamp())
        self.assertEqual(lead.store.record(action).status, "resolved")

        # The lead cannot verify their own fix: the core refuses it with the reason.
        with self.assertRaises(MusterError.NotAllowedNow) as own:
            lead.store.approve(action, "Looks good to me", lead.stamp())
        self.assertIn("the person who resolved an action cannot verify it", own.exception.reason)
        self.assertEqual(lead.store.record(action).status, "resolved")
        await lead.sync()
        self.assertFalse(lead.store.record(action).pending_sync)

        # A second phone of the worker's verifies it: the phone does not know roles, so the core
        # lets it through, and the server refuses it (only a supervisor verifies) and says why.
        tablet = Phone(self.folder, "worker-tablet")
        await tablet.login("worker@demo.muster")
        await tablet.sync()
        await tick()
        tablet.store.approve(action, "Fixed", tablet.stamp())
        refused = await tablet.sync()
        self.assertEqual([r.record_id for r in refused.rejected], [action])
        self.assertEqual(refused.rejected[0].code, RejectCode.APPROVAL_NOT_PERMITTED)
        self.assertIn("may not approve or reject corrective actions", refused.rejected[0].reason)
        self.assertEqual(tablet.store.rejection(action).code, RejectCode.APPROVAL_NOT_PERMITTED)

        # The supervisor's phone receives the resolution and verifies the fix worked.
        await supervisor.sync()
        resolved = body(supervisor, action)
        self.assertEqual(resolved["status"], "resolved")
        self.assertEqual(resolved["resolved"]["user_id"], lead_user.id)
        self.assertIsNone(resolved["verification"], "the tablet's refused verification never reached the server")
        await tick()
        supervisor.store.approve(action, "Rail checked at the landing", supervisor.stamp())
        self.assertEqual(supervisor.store.record(action).status, "closed")
        report = await supervisor.sync()
        self.assertEqual((report.accepted, report.rejected), (1, []))

        # The worker's phone shows it closed, verified by the supervisor.
        await worker.sync()
        closed = worker.store.record(action)
        self.assertEqual(closed.status, "closed")
        self.assertNotIn("corrective_action.stale_verification", flag_codes(closed))
        done = body(worker, action)
        self.assertEqual(done["verification"]["decision"], "approved")
        self.assertEqual(done["verification"]["by_user_id"], supervisor_user.id)
        self.assertEqual(done["verification"]["by_name"], supervisor_user.name)
        self.assertEqual(done["verification"]["comment"], "Rail checked at the landing")
        self.assertEqual(done["resolution_note"], "Bracket re-welded; rail held 90 kg at the landing")
        self.assertEqual(done["resolved"]["user_id"], lead_user.id)
        listed = row(worker, RecordKind.CORRECTIVE_ACTION, action)
        self.assertEqual((listed.status, listed.assignee), ("closed", lead_user.id))
        self.assertIsNotNone(listed.completed_at_ms, "resolved time")
        self.assertGreaterEqual(listed.closed_at_ms, listed.completed_at_ms)
        self.assertIn(action, [r.id for r in worker.store.list(ListFilter(kind=RecordKind.CORRECTIVE_ACTION, closed=True))])

    def test_an_inspection_finding_reaches_another_phone_at_the_site(self):
        asyncio.run(self.inspection())

    async def inspection(self):
        lead, worker = Phone(self.folder, "lead"), Phone(self.folder, "worker")
        lead_user = await lead.login("lead@demo.muster")
        await worker.login("worker@demo.muster")
        site = lead_user.sites[0]

        form = {"title": "Weekly wellsite inspection", "inspector_id": lead_user.id, "items": [], "status": "draft"}
        inspection = lead.store.create_record(RecordKind.INSPECTION, site, None, json.dumps(form), lead.stamp())
        extinguishers = lead.store.add_checklist_item(inspection, "Fire extinguishers charged and tagged", False)
        exits = lead.store.add_checklist_item(inspection, "Exits and walkways clear", False)
        spill_kit = lead.store.add_checklist_item(inspection, "Spill kit stocked", False)
        lead.store.set_item_result(inspection, extinguishers, ItemResult.PASS)
        lead.store.set_item_result(inspection, exits, ItemResult.FAIL)
        lead.store.set_item_result(inspection, spill_kit, ItemResult.PASS)
        blocking = {f.rule for f in lead.store.validate(inspection) if f.level == FindingLevel.BLOCKING}
        self.assertEqual(blocking, {"inspection.defect_note_required", "inspection.sign_off_required"})
        lead.store.set_defect_note(inspection, exits, "Pallets stacked against the east door of the doghouse")
        with self.assertRaises(MusterError.Blocked) as unsigned:
            lead.store.complete(inspection, lead.stamp())
        self.assertEqual([f.rule for f in unsigned.exception.findings], ["inspection.sign_off_required"])
        await tick()
        lead.store.sign(inspection, lead.stamp())
        await tick()
        lead.store.complete(inspection, lead.stamp())
        report = await lead.sync()
        self.assertEqual((report.accepted, report.rejected), (1, []))

        await worker.sync()
        seen = worker.store.record(inspection)
        self.assertEqual((seen.status, seen.title), ("completed", "Weekly wellsite inspection"))
        self.assertTrue(seen.body.is_other(), seen.body)
        self.assertEqual([f for f in seen.findings if f.level == FindingLevel.BLOCKING], [])
        items = {i["id"]: i for i in body(worker, inspection)["items"]}
        self.assertEqual(items[exits]["result"], "fail")
        self.assertEqual(items[exits]["defect_note"], "Pallets stacked against the east door of the doghouse")
        self.assertEqual([items[i]["result"] for i in (extinguishers, spill_kit)], ["pass", "pass"])
        self.assertEqual(body(worker, inspection)["sign_off"]["user_id"], lead_user.id)
        self.assertEqual(row(worker, RecordKind.INSPECTION, inspection).assignee, lead_user.id)
        # The server raised a corrective action for the finding, once, and the worker's phone has it.
        raised = [
            r for r in worker.store.list(ListFilter(kind=RecordKind.CORRECTIVE_ACTION))
            if (body(worker, r.id).get("source") or {}).get("record_id") == inspection
        ]
        self.assertEqual(len(raised), 1, raised)
        self.assertEqual((raised[0].status, raised[0].created_by), ("open", "system"))
        action = body(worker, raised[0].id)
        self.assertEqual(action["source"]["item_id"], exits)
        self.assertIn("Pallets stacked against the east door", action["hazard"])

    def test_a_worker_signs_an_orientation_and_the_supervisor_receives_it(self):
        asyncio.run(self.orientation())

    async def orientation(self):
        worker, supervisor = Phone(self.folder, "worker"), Phone(self.folder, "supervisor")
        worker_user = await worker.login("worker@demo.muster")
        await supervisor.login("supervisor@demo.muster")
        site = worker_user.sites[-1]

        oriented = worker.store.create_orientation(site, None, worker_user.id, "Sam Supervisor", worker.stamp())
        topics = orientation_topics()
        self.assertEqual([t.name for t in topics], ["safety_program", "site_hazards", "emergency_procedures", "right_to_refuse"])
        self.assertEqual(topics[-1].label, "The right to refuse dangerous work")
        with self.assertRaises(MusterError.Blocked) as blocked:
            worker.store.complete(oriented, worker.stamp())
        rules = [f.rule for f in blocked.exception.findings]
        self.assertEqual(rules.count("orientation.topic_unacknowledged"), 4)
        self.assertIn("orientation.signature_required", rules)
        for topic in topics:
            worker.store.acknowledge_topic(oriented, topic.topic)
        await tick()
        worker.store.sign(oriented, worker.stamp())
        await tick()
        worker.store.complete(oriented, worker.stamp())
        self.assertEqual(worker.store.record(oriented).status, "signed")
        report = await worker.sync()
        self.assertEqual((report.accepted, report.rejected), (1, []))

        await supervisor.sync()
        seen = supervisor.store.record(oriented)
        self.assertEqual(seen.status, "signed")
        self.assertEqual(seen.findings, [], "every topic acknowledged, signature current")
        received = body(supervisor, oriented)
        self.assertEqual(received["worker_signature"]["user_id"], worker_user.id)
        self.assertEqual(received["worker_signature"]["name"], worker_user.name)
        self.assertTrue(all(a["acknowledged"] for a in received["acknowledgements"]))
        self.assertEqual(row(supervisor, RecordKind.ORIENTATION, oriented).assignee, worker_user.id)
        # Only the worker signs their own orientation.
        with self.assertRaises(MusterError.NotAllowedNow) as not_theirs:
            supervisor.store.sign(oriented, supervisor.stamp())
        self.assertIn("only the worker oriented signs", not_theirs.exception.reason)

    def test_a_worker_acknowledges_the_right_to_refuse_and_reports_an_incident(self):
        asyncio.run(self.acknowledgement_and_incident())

    async def acknowledgement_and_incident(self):
        worker = Phone(self.folder, "worker")
        worker_user = await worker.login("worker@demo.muster")
        site = worker_user.sites[-1]

        ack = {"subject": "right_to_refuse", "statement": "I may refuse work I believe is dangerous.",
               "person_id": worker_user.id, "status": "draft"}
        acknowledged = worker.store.create_record(RecordKind.ACKNOWLEDGEMENT, site, None, json.dumps(ack), worker.stamp())
        with self.assertRaises(MusterError.Blocked) as unsigned:
            worker.store.complete(acknowledged, worker.stamp())
        self.assertIn("acknowledgement.signature_required", [f.rule for f in unsigned.exception.findings])
        await tick()
        worker.store.sign(acknowledged, worker.stamp())
        await tick()
        worker.store.complete(acknowledged, worker.stamp())
        self.assertEqual(body(worker, acknowledged)["signature"]["user_id"], worker_user.id)

        fire = {"incident_type": "damage", "occurred_ms": now_ms() - 600_000,
                "description": "Small fire in the generator enclosure, put out with the extinguisher",
                "location": "Generator enclosure", "treatment": "none", "occurrences": ["fire_or_explosion"],
                "release": "", "reported_by": worker_user.id, "status": "draft"}
        reported = worker.store.create_record(RecordKind.INCIDENT, site, None, json.dumps(fire), worker.stamp())
        await tick()
        worker.store.complete(reported, worker.stamp())
        report = await worker.sync()
        self.assertEqual((report.accepted, report.rejected), (2, []))

        office = office_view(reported)
        prompts = [f for f in office["flags"] if f["code"] == "incident.may_be_reportable"]
        self.assertEqual(len(prompts), 1, office["flags"])
        self.assertIn("fire or explosion", json.dumps(prompts[0]).lower())
        # The site's emergency plan came down with the sync and stays on the phone.
        plans = worker.store.list(ListFilter(kind=RecordKind.EMERGENCY_PLAN))
        self.assertTrue(any(p.site_id == site for p in plans), plans)
        plan = body(worker, next(p.id for p in plans if p.site_id == site))
        self.assertTrue(plan["muster_points"] and plan["hospital"], plan)

    def test_a_supervisor_records_a_certificate_and_a_competency_for_the_operator(self):
        asyncio.run(self.certificate_and_competency())

    async def certificate_and_competency(self):
        supervisor, operator = Phone(self.folder, "supervisor"), Phone(self.folder, "operator")
        supervisor_user = await supervisor.login("supervisor@demo.muster")
        operator_user = await operator.login("operator@demo.muster")
        site = operator_user.sites[0]
        self.assertIn(site, supervisor_user.sites)

        # First aid ticket, expiring in 20 days: inside the 30-day alert.
        issued = now_ms() - 3 * 365 * DAY_MS + 20 * DAY_MS
        expiry = now_ms() + 20 * DAY_MS
        ticket = {"holder_id": operator_user.id, "certificate_type": "Standard First Aid", "number": "SFA-20931",
                  "issuer": "Canadian Red Cross", "issued_ms": issued, "expiry_ms": expiry, "status": "draft"}
        certificate = supervisor.store.create_record(RecordKind.CERTIFICATE, site, None, json.dumps(ticket), supervisor.stamp())
        warnings = [f.rule for f in supervisor.store.validate(certificate) if f.level == FindingLevel.WARNING]
        self.assertEqual(warnings, ["certificate.document_missing"])
        supervisor.store.set_field(certificate, "document_ref", json.dumps("Office binder, tab 4"))
        supervisor.store.complete(certificate, supervisor.stamp())
        self.assertEqual(supervisor.store.record(certificate).status, "recorded")

        # The operator runs the loader while the supervisor watches and goes down the checklist.
        verification = {"worker_id": operator_user.id, "equipment_type": "loader", "items": [], "status": "draft"}
        competency = supervisor.store.create_record(RecordKind.COMPETENCY, site, None, json.dumps(verification), supervisor.stamp())
        for label in ("Walk-around and pre-start", "Bucket control and load handling", "Travel with a load on a grade", "Parking and shutdown"):
            item = supervisor.store.add_checklist_item(competency, label, True)
            supervisor.store.set_item_result(competency, item, ItemResult.PASS)
        await tick()
        supervisor.store.sign(competency, supervisor.stamp())
        await tick()
        supervisor.store.complete(competency, supervisor.stamp())
        self.assertEqual(supervisor.store.record(competency).status, "verified")
        report = await supervisor.sync()
        self.assertEqual((report.accepted, report.rejected), (2, []))

        await operator.sync()
        cert = operator.store.record(certificate)
        self.assertEqual((cert.status, cert.title), ("recorded", "Standard First Aid No. SFA-20931"))
        held = body(operator, certificate)
        self.assertEqual((held["holder_id"], held["expiry_ms"], held["document_ref"]), (operator_user.id, expiry, "Office binder, tab 4"))
        mine = operator.store.list(ListFilter(kind=RecordKind.CERTIFICATE, assignee=operator_user.id))
        self.assertEqual([r.due_at_ms for r in mine if r.id == certificate], [expiry])
        skill = operator.store.record(competency)
        self.assertEqual(skill.status, "verified")
        self.assertEqual(skill.findings, [])
        verified = body(operator, competency)
        self.assertEqual(verified["verifier"]["user_id"], supervisor_user.id)
        self.assertEqual(verified["equipment_type"], "loader")
        self.assertEqual([i["result"] for i in verified["items"]], ["pass"] * 4)
        self.assertEqual(row(operator, RecordKind.COMPETENCY, competency).assignee, operator_user.id)

        # The stored record carries no time-bound flag (it would go stale); the operator's own
        # alerts are judged at the phone's clock, offline, and the office's at the server's.
        self.assertNotIn("certificate.expiring", flag_codes(cert))
        mine = [a for a in operator.store.my_alerts() if a.record_id == certificate]
        self.assertEqual(len(mine), 1, mine)
        self.assertEqual((mine[0].kind, mine[0].flag.code), ("certificate", "certificate.expiring"))
        self.assertEqual(mine[0].flag.evidence["alert"], "30 days")
        self.assertEqual([a for a in supervisor.store.my_alerts() if a.record_id == certificate], [],
                         "the supervisor's alerts are their own")
        server = office_view(certificate)
        alerts = [f for f in server["flags"] if f["code"] == "certificate.expiring"]
        self.assertEqual(len(alerts), 1, server["flags"])
        self.assertEqual(alerts[0]["evidence"]["alert"], "30 days")
        self.assertIn(alerts[0]["evidence"]["days_left"], ("20", "21"))
        self.assertEqual(alerts[0]["evidence"]["holder"], operator_user.id)

    def test_the_operators_phone_keeps_the_equipment_register_for_offline_pre_starts(self):
        asyncio.run(self.register())

    async def register(self):
        operator = Phone(self.folder, "register-operator")
        await operator.login("operator@demo.muster")
        self.assertEqual(operator.store.equipment_register(), [], "nothing kept before the first fetch")
        units = await operator.sync_client.refresh_equipment_register()
        by_number = {u.unit_id: u for u in units}
        self.assertLessEqual({"L-3", "P-14", "PU-22"}, set(by_number), by_number)
        self.assertEqual(by_number["P-14"].required_certificates, ["Boom truck operator"])
        # The demo's loader failed its brakes this morning: its action holds it out of service.
        self.assertFalse(by_number["L-3"].in_service)
        # Kept on the phone, and found however the operator writes the number.
        self.assertEqual(operator.store.equipment_register(), units)
        loader = operator.store.equipment_unit("l 3")
        self.assertEqual((loader.unit_id, loader.equipment_type), ("L-3", "Loader"))
        self.assertIsNone(operator.store.equipment_unit("L-30"))


if __name__ == "__main__":
    unittest.main(verbosity=2)
