//! Fault injection during 1,000-item syncs in each direction, on randomized schedules with fixed
//! seeds: throttling (a short Retry-After, and one too long to wait for), 500/503 bursts, answers
//! slower than the HTTP timeout, connections dropped mid-answer, malformed JSON, the HTML sign-in
//! page, stale revisions (412 and 400) and batch reads answering `null` for some items. Each
//! seed draws its faults (kind, path, count, how far into the run), runs the sync, and re-runs
//! it as a user would until a run reports no failure. Every run must report what it could not
//! do (a typed error for the call, or per-item failures naming every item it missed), and the
//! end state must be one to one: 0 items lost, 0 duplicates, titles, parents and values equal.
//!
//! Each seed prints a figure line; `cargo test --test fault_schedules -- --nocapture` shows them.

use ado_sync_e2e::*;
use ado_sync_host::api::*;
use ado_sync_host::imports::storage::Storage;
use ado_sync_host::CallError;
use std::collections::BTreeSet;
use std::time::{Duration, Instant};

const ITEMS: usize = 1_000;
/// Seeds per direction (`FAULT_SEEDS=N` to run more).
fn seeds() -> u64 {
    std::env::var("FAULT_SEEDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(8)
}
/// The host caps the component's HTTP timeouts at this; a "timeout" fault delays the answer
/// well past it.
const HTTP_TIMEOUT: Duration = Duration::from_millis(1_000);
const SLOW_ANSWER_MS: u64 = 2_500;
/// Re-runs a user would try before giving up.
const MAX_RUNS: usize = 8;

#[derive(Debug, Clone, Copy, PartialEq)]
enum Kind {
    Throttle,
    LongThrottle,
    Burst500,
    Burst503,
    Timeout,
    Reset,
    Malformed,
    SignIn,
    PartialList,
    StaleRev412,
    StaleRev400,
}

#[derive(Debug)]
struct Fault {
    kind: Kind,
    path: &'static str,
    count: usize,
    after: usize,
}

/// Draw a schedule: 3–6 faults, each on a path of this direction, some deferred into the run.
fn draw(
    rng: &mut XorShift,
    kinds: &[Kind],
    paths: &[&'static str],
    max_after: usize,
) -> Vec<Fault> {
    (0..rng.between(3, 6))
        .map(|_| {
            let kind = *rng.pick(kinds);
            let count = match kind {
                Kind::Burst500 | Kind::Burst503 => rng.between(1, 6),
                Kind::Timeout | Kind::Reset => rng.between(1, 4),
                Kind::Throttle | Kind::Malformed | Kind::StaleRev412 | Kind::StaleRev400 => {
                    rng.between(1, 2)
                }
                Kind::LongThrottle | Kind::SignIn | Kind::PartialList => 1,
            };
            let path = match kind {
                Kind::PartialList => "workitemsbatch",
                _ => *rng.pick(paths),
            };
            let after = if rng.below(2) == 0 {
                0
            } else {
                rng.below(max_after)
            };
            Fault {
                kind,
                path,
                count,
                after,
            }
        })
        .collect()
}

fn inject(s: &Scenario, faults: &[Fault]) {
    let f = s.sim.faults();
    for x in faults {
        match x.kind {
            Kind::Throttle => f.rate_limit(x.path, x.count, 1),
            Kind::LongThrottle => f.rate_limit(x.path, x.count, 120),
            Kind::Burst500 => f.server_error(x.path, x.count, 500),
            Kind::Burst503 => f.server_error(x.path, x.count, 503),
            Kind::Timeout => f.delay(x.path, x.count, SLOW_ANSWER_MS),
            Kind::Reset => f.connection_reset(x.path, x.count),
            Kind::Malformed => f.malformed_body(x.path, x.count),
            Kind::SignIn => f.sign_in_page(x.path, x.count),
            Kind::PartialList => f.partial_list(x.path, x.count),
            Kind::StaleRev412 => f.stale_rev(x.count, 412),
            Kind::StaleRev400 => f.stale_rev(x.count, 400),
        }
        if !matches!(x.kind, Kind::StaleRev412 | Kind::StaleRev400) {
            f.defer_last(x.after);
        }
    }
}

fn scheduled(faults: &[Fault]) -> usize {
    faults.iter().map(|f| f.count).sum()
}

/// A failure of a whole call must be one a user can act on: ADO failing, throttling,
/// unreachable, or refusing the sign-in.
fn assert_typed(e: &CallError) {
    assert!(
        matches!(
            e,
            CallError::Plugin(
                SyncError::AdoError(_)
                    | SyncError::Unreachable(_)
                    | SyncError::RateLimited(_)
                    | SyncError::AuthFailed(_)
            )
        ),
        "not a typed, actionable error: {e:?}"
    );
}

#[derive(Default, Debug)]
struct Figures {
    runs: usize,
    failed_calls: usize,
    failed_items: usize,
}

impl Figures {
    fn reported(&self) -> usize {
        self.failed_calls + self.failed_items
    }
}

fn figure_line(
    direction: &str,
    seed: u64,
    faults: &[Fault],
    hit: usize,
    f: &Figures,
    c: &Comparison,
    took: Duration,
) -> String {
    let kinds: Vec<String> = faults
        .iter()
        .map(|x| {
            format!(
                "{:?}x{}@{}{}",
                x.kind,
                x.count,
                x.path,
                if x.after > 0 {
                    format!("+{}", x.after)
                } else {
                    String::new()
                }
            )
        })
        .collect();
    format!(
        "{direction} seed {seed:>2}: faults hit {hit:>2} of {:>2} [{}] | failures reported {:>4} ({} calls, {} items) | runs {} | host {} ADO {} links {} | lost 0 duplicates 0 | {:.1}s",
        scheduled(faults),
        kinds.join(" "),
        f.reported(),
        f.failed_calls,
        f.failed_items,
        f.runs,
        c.host_items,
        c.work_items,
        c.links,
        took.as_secs_f64()
    )
}

#[tokio::test(flavor = "multi_thread")]
async fn ado_to_host_1000_items_under_random_faults_loses_and_duplicates_nothing() {
    let mut lines = Vec::new();
    let mut total = Figures::default();
    for seed in 1..=seeds() {
        let started = Instant::now();
        let mut s = Scenario::with_bulk("Bulk", ITEMS).await;
        let (conn, integration) = s.integrate("Bulk", false).await;
        s.host.cap_http_timeouts(HTTP_TIMEOUT);
        let mut rng = XorShift::new(seed);
        let faults = draw(
            &mut rng,
            &[
                Kind::Throttle,
                Kind::LongThrottle,
                Kind::Burst500,
                Kind::Burst503,
                Kind::Timeout,
                Kind::Reset,
                Kind::Malformed,
                Kind::SignIn,
                Kind::PartialList,
            ],
            &["wiql", "workitemsbatch", ""],
            4,
        );
        inject(&s, &faults);
        let mut f = Figures::default();
        loop {
            f.runs += 1;
            assert!(
                f.runs <= MAX_RUNS,
                "seed {seed}: no clean run after {MAX_RUNS}: {faults:?}"
            );
            let result = s.try_pull(&integration).await;
            if std::env::var_os("FAULT_TRACE").is_some() {
                match &result {
                    Err(e) => eprintln!("run {}: {e}", f.runs),
                    Ok(o) => eprintln!(
                        "run {}: {:?} first failure {:?}",
                        f.runs,
                        o.report.totals,
                        o.report.failures.first()
                    ),
                }
            }
            match result {
                Err(e) => {
                    assert_typed(&e);
                    f.failed_calls += 1;
                }
                Ok(outcome) => {
                    let failures = &outcome.report.failures;
                    f.failed_items += failures.len();
                    // Every work item the host still lacks was reported, by id.
                    let reported: BTreeSet<i64> =
                        failures.iter().filter_map(|x| x.work_item).collect();
                    let missing: Vec<i64> = s
                        .sim
                        .work_item_ids()
                        .into_iter()
                        .filter(|wi| !s.workspace.items.contains_key(&s.host_id(&conn.id, *wi)))
                        .filter(|wi| !reported.contains(wi))
                        .collect();
                    assert!(
                        missing.is_empty(),
                        "seed {seed}: run {} left {} work items out without reporting them: {:?}… ({faults:?})",
                        f.runs,
                        missing.len(),
                        &missing[..missing.len().min(5)]
                    );
                    assert_eq!(
                        outcome.report.totals.failed as usize,
                        failures.len(),
                        "each failure is counted once"
                    );
                    if failures.is_empty() {
                        break;
                    }
                }
            }
        }
        let hit = scheduled(&faults) - s.sim.faults().remaining();
        let c = s.compare(&conn.id, &integration).await;
        assert!(
            c.problems.is_empty(),
            "seed {seed}: {:#?}",
            &c.problems[..c.problems.len().min(10)]
        );
        assert_eq!(
            (c.host_items, c.work_items, c.links),
            (ITEMS, ITEMS, ITEMS),
            "seed {seed}"
        );
        lines.push(figure_line(
            "ado->host",
            seed,
            &faults,
            hit,
            &f,
            &c,
            started.elapsed(),
        ));
        total.runs += f.runs;
        total.failed_calls += f.failed_calls;
        total.failed_items += f.failed_items;
    }
    for l in &lines {
        println!("{l}");
    }
    println!(
        "ado->host total: {} seeds, {} runs, {} failures reported, lost 0, duplicates 0",
        seeds(),
        total.runs,
        total.reported()
    );
    assert!(
        total.reported() > 0 && total.runs > seeds() as usize,
        "the schedules must have made some runs fail: {total:?}"
    );
}

/// The host's 1,000 items: Epic > Feature > Story, with statuses and effort.
fn host_items() -> Vec<HostItem> {
    let statuses = ["backlog", "in-progress", "done"];
    let (mut epic, mut feature) = (String::new(), String::new());
    (0..ITEMS)
        .map(|i| {
            let (item_type, parent) = if i % 31 == 0 {
                ("epic", None)
            } else if (i % 31 - 1) % 6 == 0 {
                ("feature", Some(epic.clone()))
            } else {
                ("story", Some(feature.clone()))
            };
            let id = format!("h-{i:04}");
            match item_type {
                "epic" => epic = id.clone(),
                "feature" => feature = id.clone(),
                _ => {}
            }
            HostItem {
                id,
                item_type: item_type.into(),
                title: format!("Host {item_type} {i}"),
                description: None,
                parent,
                status: Some(statuses[i % statuses.len()].into()),
                sprint: None,
                releases: vec![],
                tags: vec![],
                fields: if item_type == "story" {
                    vec![FieldEntry {
                        field: "effort".into(),
                        value: Some(FieldValue::Number((i % 8 + 1) as f64)),
                    }]
                } else {
                    vec![]
                },
            }
        })
        .collect()
}

/// Push until a run reports no failure; every run's failures are typed and named.
async fn push_until_clean(s: &mut Scenario, integration: &str, seed: u64, f: &mut Figures) {
    loop {
        f.runs += 1;
        assert!(
            f.runs <= MAX_RUNS,
            "seed {seed}: no clean push after {MAX_RUNS} runs"
        );
        match s.try_push(integration).await {
            Err(e) => {
                assert_typed(&e);
                f.failed_calls += 1;
            }
            Ok(outcome) => {
                let failures = &outcome.report.failures;
                f.failed_items += failures.len();
                assert!(
                    failures.iter().all(|x| x.host_id.is_some()),
                    "each failure names its host item: {failures:?}"
                );
                assert_eq!(outcome.report.totals.failed as usize, failures.len());
                if failures.is_empty() {
                    break;
                }
            }
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn host_to_ado_1000_items_under_random_faults_loses_and_duplicates_nothing() {
    let mut lines = Vec::new();
    let mut total = Figures::default();
    let kinds = [
        Kind::Throttle,
        Kind::LongThrottle,
        Kind::Burst500,
        Kind::Burst503,
        Kind::Timeout,
        Kind::Reset,
        Kind::Malformed,
        Kind::SignIn,
        Kind::StaleRev412,
        Kind::StaleRev400,
    ];
    for seed in 1..=seeds() {
        let started = Instant::now();
        let mut s = Scenario::with_bulk("Bulk", 0).await;
        let (conn, integration) = s.integrate("Bulk", false).await;
        s.host.cap_http_timeouts(HTTP_TIMEOUT);
        let changes: Vec<HostChange> = host_items().into_iter().map(HostChange::Create).collect();
        s.apply(&changes);
        let mut rng = XorShift::new(1_000 + seed);

        // Creates: 1,000 new work items, faults anywhere in the run.
        let creates = draw(&mut rng, &kinds, &["workitems", "wiql", ""], ITEMS);
        inject(&s, &creates);
        let mut f = Figures::default();
        push_until_clean(&mut s, &integration, seed, &mut f).await;
        let hit_creates = scheduled(&creates) - s.sim.faults().remaining();
        s.sim.faults().clear();

        // Updates: 150 host items change title and status; faults (stale revisions among them)
        // hit the reads and writes of the update run.
        let mut edited = BTreeSet::new();
        while edited.len() < 150 {
            edited.insert(rng.below(ITEMS));
        }
        let mut updates = Vec::new();
        for i in &edited {
            let mut item = s.workspace.items[&format!("h-{i:04}")].clone();
            item.title = format!("{} (edited)", item.title);
            // Statuses that map to an ADO state and back unchanged (in this process, a host
            // "in review" becomes Closed and reads back as "done").
            item.status = Some(if i % 2 == 0 { "done" } else { "in-progress" }.into());
            updates.push(HostChange::Update(item));
        }
        s.apply(&updates);
        let update_faults = draw(&mut rng, &kinds, &["workitems", ""], 300);
        inject(&s, &update_faults);
        push_until_clean(&mut s, &integration, seed, &mut f).await;
        let hit = hit_creates + scheduled(&update_faults) - s.sim.faults().remaining();

        let c = s.compare(&conn.id, &integration).await;
        assert!(
            c.problems.is_empty(),
            "seed {seed}: {:#?}",
            &c.problems[..c.problems.len().min(10)]
        );
        assert_eq!(
            (c.host_items, c.work_items, c.links),
            (ITEMS, ITEMS, ITEMS),
            "seed {seed}"
        );
        for i in &edited {
            let wi = s.sim.find_by_title(&format!(
                "{} (edited)",
                s.workspace.items[&format!("h-{i:04}")]
                    .title
                    .trim_end_matches(" (edited)")
            ));
            assert!(
                wi.is_some(),
                "seed {seed}: the edit of h-{i:04} reached ADO"
            );
        }
        assert!(
            s.storage
                .dump()
                .unwrap_or_default()
                .iter()
                .all(|(k, _)| !k.starts_with("pending/")),
            "seed {seed}: no create left pending"
        );
        let all: Vec<Fault> = creates.into_iter().chain(update_faults).collect();
        lines.push(figure_line(
            "host->ado",
            seed,
            &all,
            hit,
            &f,
            &c,
            started.elapsed(),
        ));
        total.runs += f.runs;
        total.failed_calls += f.failed_calls;
        total.failed_items += f.failed_items;
    }
    for l in &lines {
        println!("{l}");
    }
    println!(
        "host->ado total: {} seeds, {} runs, {} failures reported, lost 0, duplicates 0",
        seeds(),
        total.runs,
        total.reported()
    );
    assert!(
        total.reported() > 0 && total.runs > 2 * seeds() as usize,
        "the schedules must have made some runs fail: {total:?}"
    );
}
