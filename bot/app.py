"""The composition root: every long-lived object, built once, in the order it depends on.

Read it top to bottom: the storage objects (each over the one `Database`), then delivery's
limiter and dispatcher, then every service with its dependencies passed to its constructor.
A class's needs are in its constructor's signature; nothing builds objects on request.
`Runtime` (bot/runtime.py) calls `build` once and owns the lifecycle: open, start, stop.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial
from typing import TYPE_CHECKING

from bot.delivery import text as delivery_text
from bot.delivery.dispatcher import Dispatcher
from bot.delivery.eta import SendTimes
from bot.delivery.jobs import Jobs
from bot.delivery.limiter import ClusterSlots, Limiter
from bot.domain.districts import ALL_DISTRICTS, DEFAULT_DISTRICT
from bot.router import Registry
from bot.services.announcements import AnnouncementService
from bot.services.booking import BookingService
from bot.services.broadcast_progress import ProgressLoop
from bot.services.broadcasts import BroadcastService
from bot.services.child_vaccines import ChildVaccines
from bot.services.clinical import ClinicalRules
from bot.services.directory import DirectoryService
from bot.services.doctor_day import DoctorDay
from bot.services.doctor_demo import seed as seed_demo
from bot.services.doctor_stepup import DoctorStepUp
from bot.services.doctors import DoctorService
from bot.services.emergency import EmergencyService
from bot.services.faq import FaqService
from bot.services.guess_throttle import GuessThrottle
from bot.services.health import HealthService
from bot.services.medicines import MedicineService
from bot.services.medicines_refill import RefillService
from bot.services.residents import ResidentService
from bot.services.satisfaction import SatisfactionService
from bot.services.signing import SigningService
from bot.services.tickets import TicketService
from bot.services.tips import TipService
from bot.services.vaccines.adults import AdultVaccines
from bot.services.vaccines.children import ChildService
from bot.services.vaccines.reminder_plan import ChildReminders
from bot.storage.booking import BookingStore
from bot.storage.broadcasts import BroadcastStore
from bot.storage.channels import ChannelStore
from bot.storage.cluster import ClusterStore
from bot.storage.code_attempts import CodeAttemptStore
from bot.storage.directory import DirectoryStore
from bot.storage.districts import DistrictStore
from bot.storage.doctor_stepups import DoctorStepUpStore
from bot.storage.doctors import DoctorStore
from bot.storage.health import HealthStore
from bot.storage.liveness import LivenessStore
from bot.storage.medicines import MedicineStore
from bot.storage.outbox import DeliveryStore, OutboxStore, PgDeliveryStore
from bot.storage.questions import RedFlagStore, SatisfactionStore, TicketStore
from bot.storage.residents import ResidentStore
from bot.storage.tips import TipStore
from bot.storage.vaccines import VaccineStore
from bot.storage.web_sessions import WebSessionStore
from handlers import build_registry as build_handlers
from handlers.doctor.broadcast_progress import render_progress

if TYPE_CHECKING:
    from telegram.request import BaseRequest

    from bot.channels.telegram import TelegramApp
    from bot.runtime import Runtime


@dataclass(frozen=True, slots=True)
class Stores:
    """The storage layer: the only objects that hold SQL."""

    residents: ResidentStore
    outbox: OutboxStore
    delivery: DeliveryStore
    directory: DirectoryStore
    booking: BookingStore
    health: HealthStore
    doctors: DoctorStore
    broadcasts: BroadcastStore
    tips: TipStore
    vaccines: VaccineStore
    channels: ChannelStore
    liveness: LivenessStore
    medicines: MedicineStore
    code_attempts: CodeAttemptStore
    doctor_stepups: DoctorStepUpStore
    web_sessions: WebSessionStore
    redflags: RedFlagStore
    tickets: TicketStore
    satisfaction: SatisfactionStore
    cluster: ClusterStore
    districts: DistrictStore


@dataclass(frozen=True, slots=True)
class Delivery:
    """Sending: the limiter every send passes, the outbox dispatcher, the progress edits of
    broadcasts, and the scheduled jobs."""

    limiter: Limiter
    dispatcher: Dispatcher
    progress: ProgressLoop
    jobs: Jobs


@dataclass(frozen=True, slots=True)
class Services:
    """What handlers use (`ctx.services.<name>`): the rules, once each."""

    residents: ResidentService
    guesses: GuessThrottle
    stepup: DoctorStepUp
    signing: SigningService
    directory: DirectoryService
    health: HealthService
    clinical: ClinicalRules
    booking: BookingService
    doctors: DoctorService
    child_reminders: ChildReminders
    children: ChildService
    child_vaccines: ChildVaccines
    adult_vaccines: AdultVaccines
    broadcasts: BroadcastService
    doctor_day: DoctorDay
    tips: TipService
    medicines: MedicineService
    refills: RefillService
    emergency: EmergencyService
    faq: FaqService
    tickets: TicketService
    satisfaction: SatisfactionService
    send_times: SendTimes
    announcements: AnnouncementService


def home_district(served: str) -> str:
    """The district a new resident starts in: the process's own; for a bot shared by every
    district the default one, until they choose their community."""
    return DEFAULT_DISTRICT if served == ALL_DISTRICTS else served


def build_registry() -> Registry:
    """What the feature handlers register, plus delivery's own: the `text` notification kind
    and the nightly outbox prune."""
    registry = build_handlers()
    delivery_text.register(registry)
    return registry


def build_limiter(rt: Runtime) -> Limiter:
    """The limiter every send passes: Telegram's per-bot limits, shared by all workers on
    PostgreSQL, with a lane of its own for paid broadcasts when the deployment has them."""
    settings = rt.settings
    limiter = Limiter(settings)
    # Paid broadcasts may use up to paid_rate msg/s in all, the ordinary lane included.
    paid_rate = max(1.0, settings.paid_rate - max(0.0, settings.global_rate))
    if settings.paid_broadcast:
        limiter.paid = Limiter(
            rate=paid_rate, per_chat_interval=settings.per_chat_interval, max_reserve=0
        )
    if rt.pg is not None:
        if settings.global_rate > 0:
            limiter.shared = ClusterSlots(rt.pg, "bulk", settings.global_rate)
        if limiter.paid is not None:
            # Paid: late slots are still spent (a busy worker would otherwise drop most of
            # them at 1 ms apart). A worker holds at most one block (10 ms of slots), so the
            # late ones add at most a block per worker to a second: 960 + 3 * 9 < 1000.
            limiter.paid.shared = ClusterSlots(rt.pg, "paid", paid_rate, margin=0.99, tolerance=1.0)
    return limiter


def build(rt: Runtime) -> tuple[Stores, Delivery, Services]:
    """Every long-lived object of one process, wired. Nothing is opened or started here."""
    db, settings, clock = rt.db, rt.settings, rt.now

    pg = rt.pg
    stores = Stores(
        residents=ResidentStore(db, home_district(settings.district)),
        outbox=OutboxStore(db),
        delivery=(
            DeliveryStore(db, settings.district)
            if pg is None
            else PgDeliveryStore(
                db, pg=pg, per_chat_interval=settings.per_chat_interval, district=settings.district
            )
        ),
        directory=DirectoryStore(db, settings.district),
        booking=BookingStore(db),
        health=HealthStore(db),
        doctors=DoctorStore(db),
        broadcasts=BroadcastStore(db),
        tips=TipStore(db),
        vaccines=VaccineStore(db),
        channels=ChannelStore(db),
        liveness=LivenessStore(db),
        medicines=MedicineStore(db),
        code_attempts=CodeAttemptStore(db),
        doctor_stepups=DoctorStepUpStore(db),
        web_sessions=WebSessionStore(db),
        redflags=RedFlagStore(db),
        tickets=TicketStore(db),
        satisfaction=SatisfactionStore(db),
        cluster=ClusterStore(db, pg),
        districts=DistrictStore(db),
    )

    limiter = build_limiter(rt)
    dispatcher = Dispatcher(
        rt, stores.delivery, stores.outbox, stores.residents, limiter, stores.cluster
    )

    residents = ResidentService(stores.residents)
    guesses = GuessThrottle(stores.code_attempts, stores.doctors, stores.channels, clock)
    stepup = DoctorStepUp(stores.doctor_stepups, guesses, stores.outbox, clock)
    signing = SigningService(stores.directory, clock)
    directory = DirectoryService(stores.directory, signing, clock, stores.districts)
    # content/clinical, loaded and validated once (a start-up hook loads it early).
    clinical = ClinicalRules(settings.content_dir)
    health = HealthService(
        stores.health, stores.outbox, directory, settings, clock, clinical, stores.doctors
    )
    booking = BookingService(stores.booking, directory, settings)
    doctors = DoctorService(
        stores.doctors,
        stores.residents,
        stores.outbox,
        directory,
        clock,
        guesses,
        stepup,
        sandbox=rt.sandbox,
    )
    child_reminders = ChildReminders(stores.vaccines, stores.outbox, settings, clock)
    children = ChildService(stores.vaccines, child_reminders, clock, guesses)
    child_vaccines = ChildVaccines(children, stores.vaccines, stores.broadcasts)
    adult_vaccines = AdultVaccines(stores.vaccines, stores.health, stores.outbox, settings, clock)
    broadcasts = BroadcastService(
        stores.broadcasts, doctors, directory, child_vaccines, dispatcher, settings, clock
    )
    doctor_day = DoctorDay(
        stores.doctors,
        stores.booking,
        stores.health,
        stores.outbox,
        doctors,
        health,
        child_vaccines,
        settings,
        clock,
    )
    # When a planned row really goes out (quiet hours applied): every "it goes out …" reads it.
    send_times = SendTimes(stores.outbox, stores.residents, settings, clock)
    tips = TipService(
        stores.tips, stores.outbox, settings, clock, sandbox=rt.sandbox, send_times=send_times
    )
    medicines = MedicineService(stores.medicines, stores.outbox, dispatcher, settings, clock)
    refills = RefillService(stores.medicines, directory, doctors, medicines, settings, clock)
    # Typed questions (issue 12): emergency signs, common questions, tickets, satisfaction.
    emergency = EmergencyService(
        stores.redflags, stores.outbox, directory, doctors, health, settings, clock
    )
    # A broken sign list must stop the start-up (file and line), not the first resident in
    # danger: load it now.
    emergency.signs  # noqa: B018
    tickets = TicketService(
        stores.tickets, stores.outbox, directory, doctors, health, settings, clock
    )
    satisfaction = SatisfactionService(
        stores.satisfaction, stores.outbox, directory, settings, clock
    )

    # The two links that run both ways, wired once both ends exist.
    doctors.stop_broadcasts = broadcasts.stop_all
    if rt.sandbox:
        doctors.seed_demo = partial(seed_demo, rt)

    delivery = Delivery(
        limiter=limiter,
        dispatcher=dispatcher,
        progress=ProgressLoop(rt, stores.broadcasts, stores.doctors, render_progress),
        jobs=Jobs(rt, stores.cluster),
    )
    services = Services(
        residents=residents,
        guesses=guesses,
        stepup=stepup,
        signing=signing,
        directory=directory,
        health=health,
        clinical=clinical,
        booking=booking,
        doctors=doctors,
        child_reminders=child_reminders,
        children=children,
        child_vaccines=child_vaccines,
        adult_vaccines=adult_vaccines,
        broadcasts=broadcasts,
        doctor_day=doctor_day,
        tips=tips,
        medicines=medicines,
        refills=refills,
        emergency=emergency,
        faq=FaqService(settings.content_dir),
        tickets=tickets,
        satisfaction=satisfaction,
        send_times=send_times,
        announcements=AnnouncementService(stores.districts, settings, clock),
    )
    return stores, delivery, services


def build_telegram(
    rt: Runtime,
    *,
    request: BaseRequest | None = None,
    get_updates_request: BaseRequest | None = None,
) -> TelegramApp:
    """The Telegram application, one build for `doorstep run` and `doorstep serve`: PTB's
    stack over the router, with its sender registered for delivery. Tests pass a fake
    `request` transport."""
    from bot.channels.telegram import CHANNEL, TelegramSender, build_application

    app = build_application(rt, request=request, get_updates_request=get_updates_request)
    rt.senders[CHANNEL] = TelegramSender(app.bot)
    return app
