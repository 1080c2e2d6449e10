"""A field day through the generated Python bindings, against a live muster-server.

Run by scripts/test-bindings.sh, which starts `muster-server --demo` on a free port and sets:
  MUSTER_URL        the server's base URL (http://127.0.0.1:PORT)
  MUSTER_PYTHON     the folder holding the generated muster_mobile.py and the built library

Two phones (the crew lead's and a worker's) enroll, fill a JSEA offline with GPS fixes, both sign,
sync, and see the merged record and its flags; the supervisor's phone approves; bad input comes
back as MusterError, never a crash. Every store is a real SQLite file in a temporary folder.
"""

import asyncio
import json
import os
import sys
import tempfile
import threading
import time
import unittest
import uuid

sys.path.insert(0, os.environ.get("MUSTER_PYTHON", os.path.join(os.path.dirname(__file__), "..", "..", "target", "bindings", "python")))

from muster_mobile import (  # noqa: E402
    ClockSample,
    ControlLevel,
    DeviceClock,
    EquipmentUnit,
    FindingLevel,
    GpsFix,
    ItemResult,
    ListFilter,
    MusterError,
    MusterStore,
    MusterSyncClient,
    RecordKind,
    RejectCode,
    Role,
    Severity,
    Stamp,
    SyncObserver,
    SyncSettings,
    core_version,
    record_kinds,
)

URL = os.environ.get("MUSTER_URL", "http://127.0.0.1:8080")
PASSWORD = "muster-demo-2026"

# A lease site in the Peace Country; each phone reports fixes around it.
SITE_LAT, SITE_LON = 55.1707, -118.7947

QUICK = SyncSettings(attempts=3, first_delay_ms=50, max_delay_ms=200, request_timeout_ms=20_000)


class Phone(DeviceClock):
    """One phone: its own store file, boot, monotonic clock and GPS, as a shell would keep them."""

    def __init__(self, folder, name, settings=QUICK):
        self.name = name
        self.boot_id = str(uuid.uuid4())
        self.store = MusterStore(os.path.join(folder, f"{name}.db"))
        self.sync_client = MusterSyncClient.with_settings(self.store, settings, self)
        self.user = None

    # DeviceClock: the same clocks the phone stamps events with.
    def now(self):
        return ClockSample(wall_ms=int(time.time() * 1000), monotonic_ms=int(time.monotonic() * 1000), boot_id=self.boot_id)

    def stamp(self, with_fix=True, offset_m=0.0):
        wall = int(time.time() * 1000)
        fix = None
        if with_fix:
            fix = GpsFix(
                lat=SITE_LAT + offset_m / 111_000.0,
                lon=SITE_LON,
                accuracy_m=5.0,
                fix_time_ms=wall - 1_500,
                provider="gps",
                mock=False,
            )
        return Stamp(wall_ms=wall, monotonic_ms=int(time.monotonic() * 1000), boot_id=self.boot_id, fix=fix)

    async def login(self, email, url=URL):
        self.user = await self.sync_client.login(url, email, PASSWORD, f"{self.name}'s phone")
        return self.user

    async def sync(self, observer=None):
        return await self.sync_client.sync(observer)


class Progress(SyncObserver):
    def __init__(self):
        self.seen = []

    def on_progress(self, progress):
        self.seen.append(progress)


def jsea_form(view):
    assert view.body.is_jsea(), view.body
    return view.body.form


def flag_codes(view):
    return sorted(f.code for f in view.flags)


async def tick():
    # Stamps are in milliseconds: keep lifecycle events apart so their order is unambiguous.
    await asyncio.sleep(0.02)


class FieldDay(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.TemporaryDirectory(prefix="muster-py-")
        self.folder = self.dir.name

    def tearDown(self):
        self.dir.cleanup()

    def test_two_phones_fill_sign_sync_and_see_the_merged_jsea_and_its_flags(self):
        asyncio.run(self.field_day())

    async def field_day(self):
        lead, worker, supervisor = (Phone(self.folder, n) for n in ("lead", "worker", "supervisor"))
        lead_user = await lead.login("lead@demo.muster")
        worker_user = await worker.login("worker@demo.muster")
        supervisor_user = await supervisor.login("supervisor@demo.muster")
        self.assertEqual(lead_user.role, Role.WORKER)
        self.assertEqual(supervisor_user.role, Role.SUPERVISOR)
        self.assertEqual(lead.store.profile().user_id, lead_user.id)
        site = lead_user.sites[0]
        self.assertIn(site, worker_user.sites)
        other_site = next(s for s in worker_user.sites if s not in lead_user.sites)

        # 06:30, no signal: the lead fills the JSEA offline, every event stamped with a fix.
        jsea = lead.store.create_jsea(site, None, "Replace wellhead master valve", "Muster at the lease gate, upwind", lead.stamp())
        bleed = lead.store.add_step(jsea, "Isolate, bleed down and lock out the wellhead")
        pressure = lead.store.add_hazard(jsea, bleed, "Trapped pressure released at the valve", 4, 3)
        lead.store.add_control(jsea, pressure, "Double block and bleed, verify zero with gauge", ControlLevel.ENGINEERING)
        lead.store.add_control(jsea, pressure, "Face shield and FR coveralls", ControlLevel.PPE)
        lift = lead.store.add_step(jsea, "Lift the old valve out with the picker")
        pinch = lead.store.add_hazard(jsea, lift, "Hands caught between valve and flange", 3, 3)
        lead.store.add_control(jsea, pinch, "Impact gloves", ControlLevel.PPE)
        lead.store.add_crew_member(jsea, worker_user.id)

        findings = lead.store.validate(jsea)
        rules = {f.rule for f in findings if f.level == FindingLevel.BLOCKING}
        self.assertIn("jsea.ppe_only_without_justification", rules)
        self.assertIn("jsea.crew_signature_required", rules)

        # Completing now is refused with the public error listing what is missing.
        with self.assertRaises(MusterError.Blocked) as blocked:
            lead.store.complete(jsea, lead.stamp())
        blocked_rules = {f.rule for f in blocked.exception.findings}
        self.assertEqual(blocked_rules, rules)
        self.assertIn("no justification", blocked.exception.reason)

        lead.store.set_ppe_justification(jsea, pinch, "Tag lines keep hands clear; gloves for the final set")
        await tick()
        lead.store.sign(jsea, lead.stamp(offset_m=3))

        # An equipment pre-start with a failed critical item, and a near-miss filed at a site the
        # lead does not work at (the server will refuse that one, and the phone keeps it).
        pre = lead.store.create_pre_start(site, None, EquipmentUnit(unit_id="PU-14", make_model="F-350", serial=None, hour_meter=1820.5), lead.stamp())
        brakes = lead.store.add_checklist_item(pre, "Service brakes", True)
        steering = lead.store.add_checklist_item(pre, "Steering", True)
        horn = lead.store.add_checklist_item(pre, "Horn", False)
        lead.store.set_item_result(pre, brakes, ItemResult.PASS)
        lead.store.set_item_result(pre, steering, ItemResult.FAIL)
        lead.store.set_item_result(pre, horn, ItemResult.NOT_APPLICABLE)
        with self.assertRaises(MusterError.Blocked):
            lead.store.complete(pre, lead.stamp())
        lead.store.set_defect_note(pre, steering, "Play in the wheel over 5 cm; tagged out")
        lead.store.sign(pre, lead.stamp())
        lead.store.complete(pre, lead.stamp())

        near_miss = lead.store.create_near_miss(other_site, None, "Pipe rolled off the rack toward the walkway", int(time.time() * 1000) - 600_000, Severity.HIGH, False, lead.stamp())
        lead.store.set_near_miss_location(near_miss, "Pipe rack by the compressor", lead.stamp().fix)
        lead.store.complete(near_miss, lead.stamp())

        self.assertEqual(lead.store.pending_count(), 3)
        self.assertEqual([p.record_id for p in lead.store.pending()].count(jsea), 1)

        # Signal: the lead syncs, with progress reported through the observer.
        progress = Progress()
        report = await lead.sync(progress)
        self.assertGreaterEqual(report.round_trips, 1)
        self.assertEqual(report.accepted, 2)
        self.assertTrue(progress.seen, "progress was reported")
        self.assertEqual(progress.seen[-1].round_trips, report.round_trips)
        self.assertEqual([r.record_id for r in report.rejected], [near_miss])
        rejection = lead.store.rejection(near_miss)
        self.assertIsNotNone(rejection)
        self.assertEqual(rejection.code, RejectCode.OUT_OF_SCOPE)
        self.assertTrue(rejection.reason)
        self.assertEqual(lead.store.record(near_miss).rejection.code, RejectCode.OUT_OF_SCOPE)
        self.assertEqual([r.record_id for r in lead.store.rejections()], [near_miss])
        self.assertEqual(lead.store.pending_count(), 1, "the refused near-miss stays queued on the phone")

        # The worker's phone receives the JSEA, and the worker signs on offline.
        await worker.sync()
        seen_by_worker = worker.store.record(jsea)
        self.assertEqual([s.user_id for s in jsea_form(seen_by_worker).signatures], [lead_user.id])
        await tick()
        worker.store.sign(jsea, worker.stamp(offset_m=8))
        await worker.sync()

        # The lead's phone merges both signatures; neither is stale.
        await lead.sync()
        merged = lead.store.record(jsea)
        form = jsea_form(merged)
        self.assertEqual(sorted(s.user_id for s in form.signatures), sorted([lead_user.id, worker_user.id]))
        self.assertEqual(len({s.content_hash for s in form.signatures}), 1)
        self.assertNotIn("jsea.stale_signature", flag_codes(merged))
        self.assertEqual(set(merged.authors.values()), {lead_user.id, worker_user.id})
        self.assertEqual(len(form.steps), 2)
        self.assertEqual([c.level for c in form.steps[0].hazards[0].controls], [ControlLevel.ENGINEERING, ControlLevel.PPE])
        self.assertAlmostEqual(merged.header.created.fix.lat, SITE_LAT, places=4)

        # Completed and work started before the supervisor approved: flagged.
        await tick()
        lead.store.complete(jsea, lead.stamp())
        await tick()
        lead.store.start_work(jsea, lead.stamp())
        started = lead.store.record(jsea)
        self.assertEqual(started.status, "work_started")
        self.assertIn("jsea.work_started_without_approval", flag_codes(started))
        # The lead's phone also holds the lead's records from earlier days: look for today's.
        flagged = lead.store.list(ListFilter(flag="jsea.work_started_without_approval"))
        self.assertIn(jsea, [r.id for r in flagged])
        self.assertTrue(all("jsea.work_started_without_approval" in r.flags for r in flagged))
        out_of_service = lead.store.list(ListFilter(kind=RecordKind.PRE_START, flag="pre_start.out_of_service"))
        self.assertIn(pre, [r.id for r in out_of_service])
        self.assertTrue(all(r.kind == "pre_start" for r in out_of_service))
        self.assertNotIn(jsea, [r.id for r in lead.store.list(ListFilter(kind=RecordKind.NEAR_MISS))])
        await lead.sync()
        self.assertFalse(lead.store.record(jsea).pending_sync)

        # The supervisor's phone approves late; everyone sees approval after work started.
        await supervisor.sync()
        with self.assertRaises(MusterError.Invalid):
            supervisor.store.reject(jsea, "   ", supervisor.stamp())
        await tick()
        supervisor.store.approve(jsea, "Good catch on the bleed-down", supervisor.stamp())
        await supervisor.sync()
        await lead.sync()
        approved = lead.store.record(jsea)
        self.assertEqual(jsea_form(approved).approval.by_user_id, supervisor_user.id)
        codes = flag_codes(approved)
        self.assertIn("jsea.approved_after_work_started", codes)
        self.assertNotIn("jsea.work_started_without_approval", codes)
        flag = next(f for f in approved.flags if f.code == "jsea.approved_after_work_started")
        self.assertIn("work_started", flag.evidence)

        # Lists come from the projection, filtered.
        jseas = lead.store.list(ListFilter(kind=RecordKind.JSEA, site_id=site))
        self.assertIn(jsea, [r.id for r in jseas])
        mine = lead.store.list(ListFilter(created_by=lead_user.id, limit=2))
        self.assertLessEqual(len(mine), 2)

        # A near miss filed anonymously names no one: only the lead's phone shows it as theirs,
        # and no other phone receives it.
        unnamed = lead.store.create_near_miss(site, None, "Gas test skipped at the tank hatch", int(time.time() * 1000) - 300_000, Severity.HIGH, True, lead.stamp())
        lead.store.complete(unnamed, lead.stamp())
        await lead.sync()
        view = lead.store.record(unnamed)
        self.assertTrue(view.anonymous_by_me)
        self.assertFalse(view.pending_sync, "the server took it")
        self.assertEqual(view.header.created_by, "anonymous")
        self.assertEqual(set(view.authors.values()), {"anonymous"})
        self.assertIsNone(view.body.form.reporter_id)
        self.assertFalse(lead.store.record(jsea).anonymous_by_me)
        await supervisor.sync()
        with self.assertRaises(MusterError.NotFound):
            supervisor.store.record(unnamed)

    def test_bad_input_is_the_public_error_not_a_crash(self):
        asyncio.run(self.bad_input())

    async def bad_input(self):
        junk = os.path.join(self.folder, "notes.db")
        with open(junk, "w") as f:
            f.write("not a database: gloves, flagging tape, coffee\n")
        with self.assertRaises(MusterError.StoreUnusable) as refused:
            MusterStore(junk)
        self.assertIn("notes.db", refused.exception.reason)
        with open(junk) as f:
            self.assertTrue(f.read().startswith("not a database"), "the foreign file is left untouched")

        phone = Phone(self.folder, "bad")
        with self.assertRaises(MusterError.NotSignedIn):
            phone.store.create_jsea("site", None, "task", "gate", phone.stamp())
        with self.assertRaises(MusterError.NotSignedIn):
            await phone.sync()
        with self.assertRaises(MusterError.Server) as wrong_password:
            await phone.sync_client.login(URL, "lead@demo.muster", "not the password", "phone")
        self.assertEqual(wrong_password.exception.status, 401)

        user = await phone.login("lead@demo.muster")
        jsea = phone.store.create_jsea(user.sites[0], "job-7", "Hydrovac daylighting", "Truck", phone.stamp(with_fix=False))
        with self.assertRaises(MusterError.NotFound):
            phone.store.add_hazard(jsea, "no-such-step", "Buried line", 5, 2)
        with self.assertRaises(MusterError.NotFound):
            phone.store.record("no-such-record")
        with self.assertRaises(MusterError.Invalid):
            phone.store.add_checklist_item(jsea, "Brakes", True)
        with self.assertRaises(MusterError.NotAllowedNow):
            phone.store.approve(jsea, None, phone.stamp())
        # A stamp without a fix is fine: a missing fix never blocks anyone.
        self.assertIsNone(phone.store.record(jsea).header.created.fix)
        self.assertEqual(phone.store.record(jsea).header.job_id, "job-7")
        self.assertTrue(core_version())

    def test_a_kind_with_no_typed_form_is_filled_through_the_generic_operations(self):
        asyncio.run(self.generic_kind())

    async def generic_kind(self):
        phone = Phone(self.folder, "talk")
        user = await phone.login("lead@demo.muster")
        kinds = {k.name: k for k in record_kinds()}
        self.assertIn("tailgate_meeting", kinds)
        self.assertEqual(kinds["tailgate_meeting"].kind, RecordKind.TAILGATE_MEETING)
        body = {"title": "Lifting over the live line", "topics": ["Exclusion zone"], "crew": [],
                "signatures": {}, "status": "draft", "held": None}
        talk = phone.store.create_record(RecordKind.TAILGATE_MEETING, user.sites[0], None, json.dumps(body), phone.stamp())
        phone.store.set_field(talk, "title", json.dumps("Lifting over the live line, pad 7"))
        phone.store.add_list_item(talk, "topics", json.dumps("Radio check before each lift"))
        with self.assertRaises(MusterError.Invalid) as wrong_type:
            phone.store.set_field(talk, "topics", json.dumps(5))
        self.assertIn("invalid type", wrong_type.exception.reason)
        with self.assertRaises(MusterError.NotAllowedNow):
            phone.store.set_field(talk, "status", json.dumps("held"))
        with self.assertRaises(MusterError.Blocked):
            phone.store.complete(talk, phone.stamp())
        phone.store.sign(talk, phone.stamp())
        phone.store.complete(talk, phone.stamp())
        view = phone.store.record(talk)
        self.assertTrue(view.body.is_other(), view.body)
        self.assertEqual(view.status, "held")
        stored = json.loads(phone.store.record_json(talk))
        self.assertEqual(stored["topics"], ["Exclusion zone", "Radio check before each lift"])
        self.assertEqual(list(stored["signatures"]), [user.id])
        report = await phone.sync()
        self.assertEqual(report.accepted, 1, report)
        self.assertIn(talk, [r.id for r in phone.store.list(ListFilter(kind=RecordKind.TAILGATE_MEETING))])

    def test_sync_reports_offline_and_can_be_cancelled_without_losing_anything(self):
        asyncio.run(self.offline_and_cancel())

    async def offline_and_cancel(self):
        # The phone signs in through a relay that then goes away, as signal does.
        relay = await Relay.start(URL)
        patient = SyncSettings(attempts=1000, first_delay_ms=100, max_delay_ms=200, request_timeout_ms=5_000)
        phone = Phone(self.folder, "cancel", settings=patient)
        user = await phone.login("worker@demo.muster", url=relay.url)
        phone.store.create_jsea(user.sites[0], None, "Flush line with hot oiler", "Lease gate", phone.stamp())
        await relay.stop()

        cancel_from = threading.Timer(0.5, phone.sync_client.cancel)
        cancel_from.start()
        started = time.monotonic()
        with self.assertRaises(MusterError.Cancelled):
            await phone.sync()
        self.assertLess(time.monotonic() - started, 10)
        self.assertEqual(phone.store.pending_count(), 1, "nothing queued is lost by a cancel")

        impatient = Phone(self.folder, "offline", settings=SyncSettings(attempts=2, first_delay_ms=10, max_delay_ms=20, request_timeout_ms=2_000))
        relay = await Relay.start(URL)
        user = await impatient.login("worker@demo.muster", url=relay.url)
        impatient.store.create_near_miss(user.sites[0], None, "Slipped on ice by the tank", int(time.time() * 1000), Severity.MEDIUM, False, impatient.stamp())
        await relay.stop()
        with self.assertRaises(MusterError.Offline):
            await impatient.sync()
        self.assertEqual(impatient.store.pending_count(), 1)


class Relay:
    """A TCP relay on 127.0.0.1 to the real server, stopped to simulate losing signal."""

    def __init__(self, server, target):
        self.server = server
        self.target = target
        port = server.sockets[0].getsockname()[1]
        self.url = f"http://127.0.0.1:{port}"
        self.tasks = set()

    @classmethod
    async def start(cls, url):
        host, port = url.split("://", 1)[1].rstrip("/").split(":")
        holder = {}

        async def handle(reader, writer):
            relay = holder["relay"]
            up_reader, up_writer = await asyncio.open_connection(host, int(port))

            async def pump(src, dst):
                try:
                    while data := await src.read(65536):
                        dst.write(data)
                        await dst.drain()
                except (ConnectionError, asyncio.CancelledError):
                    pass
                finally:
                    dst.close()

            for t in (asyncio.ensure_future(pump(reader, up_writer)), asyncio.ensure_future(pump(up_reader, writer))):
                relay.tasks.add(t)
                t.add_done_callback(relay.tasks.discard)

        server = await asyncio.start_server(handle, "127.0.0.1", 0)
        relay = cls(server, (host, port))
        holder["relay"] = relay
        return relay

    async def stop(self):
        self.server.close()
        for t in list(self.tasks):
            t.cancel()
        await asyncio.gather(*self.tasks, return_exceptions=True)
        await self.server.wait_closed()


if __name__ == "__main__":
    unittest.main(verbosity=2)
