// What the Kotlin binding tests share: a phone as the Android shell keeps one (store, sync client,
// clocks, GPS), checks that name what failed, and a runner that gives each scenario a fresh
// temporary folder of stores. Compiled with the generated bindings by scripts/test-bindings.sh.

import ca.muster.core.ClockSample
import ca.muster.core.DeviceClock
import ca.muster.core.GpsFix
import ca.muster.core.MusterStore
import ca.muster.core.MusterSyncClient
import ca.muster.core.Stamp
import ca.muster.core.SyncSettings
import ca.muster.core.UserInfo
import java.io.File
import java.nio.file.Files
import java.util.UUID
import kotlin.system.exitProcess
import kotlinx.coroutines.delay
import kotlinx.coroutines.runBlocking

const val PASSWORD = "muster-demo-2026"
const val SITE_LAT = 55.1707
const val SITE_LON = -118.7947

val quick = SyncSettings(attempts = 3u, firstDelayMs = 50uL, maxDelayMs = 200uL, requestTimeoutMs = 20_000uL)

/** One phone: its own store file, boot id, monotonic clock and GPS, as the Android shell keeps them. */
class Phone(folder: File, val name: String, val url: String) : DeviceClock {
    val bootId: String = UUID.randomUUID().toString()
    val store = MusterStore(File(folder, "$name.db").path)
    val sync = MusterSyncClient.withSettings(store, quick, this)
    lateinit var user: UserInfo

    // Android: SystemClock.elapsedRealtime() and the boot id from /proc/sys/kernel/random/boot_id.
    private fun monotonicMs(): Long = System.nanoTime() / 1_000_000

    override fun now(): ClockSample =
        ClockSample(wallMs = System.currentTimeMillis(), monotonicMs = monotonicMs(), bootId = bootId)

    fun stamp(withFix: Boolean = true, offsetM: Double = 0.0): Stamp {
        val wall = System.currentTimeMillis()
        val fix = if (withFix) {
            GpsFix(
                lat = SITE_LAT + offsetM / 111_000.0, lon = SITE_LON, accuracyM = 5.0,
                fixTimeMs = wall - 1_500, provider = "gps", mock = false,
            )
        } else {
            null
        }
        return Stamp(wallMs = wall, monotonicMs = monotonicMs(), bootId = bootId, fix = fix)
    }

    suspend fun login(email: String): UserInfo {
        user = sync.login(url, email, PASSWORD, "$name's phone")
        return user
    }
}

fun check(condition: Boolean, what: () -> String) {
    if (!condition) throw AssertionError(what())
}

inline fun <reified E : Throwable> expectError(what: String, block: () -> Unit): E {
    try {
        block()
    } catch (e: Throwable) {
        if (e is E) return e
        throw AssertionError("$what: expected ${E::class.simpleName}, got $e")
    }
    throw AssertionError("$what: expected ${E::class.simpleName}, nothing was thrown")
}

/** Stamps are in milliseconds: keep lifecycle events apart so their order is unambiguous. */
suspend fun tick() = delay(20)

/** Runs each scenario against the server at `args[0]` in a fresh folder, prints `ok`/`FAIL` per
 * scenario and `<suite>: N passed, M failed`, and exits non-zero on any failure. */
fun runScenarios(suite: String, args: Array<String>, scenarios: List<Pair<String, suspend (File, String) -> Unit>>) {
    val url = args.firstOrNull() ?: System.getenv("MUSTER_URL") ?: "http://127.0.0.1:8080"
    var passed = 0
    var failed = 0
    for ((name, scenario) in scenarios) {
        val folder = Files.createTempDirectory("muster-kt-").toFile()
        try {
            runBlocking { scenario(folder, url) }
            passed++
            println("ok   $name")
        } catch (e: Throwable) {
            failed++
            println("FAIL $name: $e")
            e.printStackTrace()
        } finally {
            folder.deleteRecursively()
        }
    }
    println("$suite: $passed passed, $failed failed")
    exitProcess(if (failed == 0) 0 else 1)
}
