use super::*;

fn sample(busy: &[f64], waiting: &[f64], idle_cpus: f64) -> Sample {
    Sample {
        busy: busy.to_vec(),
        waiting: waiting.to_vec(),
        idle_cpus,
    }
}

#[test]
fn a_saturated_worker_gets_help_only_when_a_cpu_is_idle() {
    let t0 = Instant::now();
    let mut p = Policy::new(2, 1);
    // A load generator has the other CPU: nothing idle, stay at one.
    assert_eq!(p.decide(&sample(&[0.97], &[0.02], 0.05), t0).active, 1);
    // A remote client: the other CPU is idle.
    assert_eq!(p.decide(&sample(&[0.97], &[0.02], 0.95), t0).active, 2);
    // Never beyond the workers there are.
    let later = t0 + HOLD * 2;
    assert_eq!(
        p.decide(&sample(&[0.95, 0.95], &[0.0, 0.0], 0.9), later)
            .active,
        2
    );
}

#[test]
fn a_light_load_stays_on_one_worker_whatever_is_idle() {
    let mut p = Policy::new(4, 1);
    assert_eq!(
        p.decide(&sample(&[0.6], &[0.0], 3.0), Instant::now())
            .active,
        1
    );
}

#[test]
fn each_change_holds_for_a_while() {
    let t0 = Instant::now();
    let mut p = Policy::new(2, 1);
    assert_eq!(p.decide(&sample(&[0.9], &[0.0], 1.0), t0).active, 2);
    // Even an idle pool is not packed within the hold...
    let idle = sample(&[0.0, 0.0], &[0.0, 0.0], 2.0);
    assert_eq!(p.decide(&idle, t0 + HOLD / 2).active, 2);
    // ...but is after it.
    assert_eq!(p.decide(&idle, t0 + HOLD).active, 1);
}

#[test]
fn light_work_is_packed_onto_fewer_workers() {
    let t0 = Instant::now();
    let mut p = Policy::new(3, 3);
    // 0.9 of work fits in two workers at half load: let one go.
    assert_eq!(
        p.decide(&sample(&[0.3, 0.3, 0.3], &[0.0; 3], 2.0), t0)
            .active,
        2
    );
    // 0.7 over two does not fit in one at half load: keep both.
    let later = t0 + HOLD;
    assert_eq!(
        p.decide(&sample(&[0.35, 0.35], &[0.0; 2], 1.0), later)
            .active,
        2
    );
}

#[test]
fn crowded_workers_shrink_and_wait_longer_each_time_before_growing() {
    let t0 = Instant::now();
    let mut p = Policy::new(2, 2);
    let crowded = sample(&[0.6, 0.6], &[0.4, 0.3], 0.0);
    let saturated = sample(&[0.95], &[0.0], 0.9);
    assert_eq!(p.decide(&crowded, t0).active, 1);
    // First regrow hold: HOLD.
    assert_eq!(p.decide(&saturated, t0 + HOLD / 2).active, 1);
    let t1 = t0 + HOLD;
    assert_eq!(p.decide(&saturated, t1).active, 2);
    let t2 = t1 + HOLD;
    assert_eq!(p.decide(&crowded, t2).active, 1);
    // Second time: twice as long.
    assert_eq!(p.decide(&saturated, t2 + HOLD * 3 / 2).active, 1);
    assert_eq!(p.decide(&saturated, t2 + HOLD * 2).active, 2);
    // Two workers running side by side without crowding resets it.
    let t3 = t2 + HOLD * 3;
    assert_eq!(
        p.decide(&sample(&[0.9, 0.9], &[0.05, 0.05], 0.1), t3)
            .active,
        2
    );
    assert_eq!(p.decide(&crowded, t3).active, 1);
    assert_eq!(p.decide(&saturated, t3 + HOLD).active, 2);
}

#[test]
fn the_regrow_hold_is_bounded() {
    let mut t = Instant::now();
    let mut p = Policy::new(2, 2);
    for _ in 0..10 {
        p.decide(&sample(&[0.6, 0.6], &[0.5, 0.5], 0.0), t);
        t += MAX_HOLD;
        p.decide(&sample(&[0.95], &[0.0], 1.0), t);
        t += MAX_HOLD;
    }
    assert_eq!(p.active, 2, "still regrows after the longest hold");
}

#[test]
fn schedstat_lines_parse_and_garbage_does_not() {
    assert_eq!(parse_schedstat("242620 17 2\n"), Some((242620, 17)));
    assert_eq!(parse_schedstat(""), None);
    assert_eq!(parse_schedstat("12"), None);
    assert_eq!(parse_schedstat("a b c"), None);
}

#[test]
fn idle_ticks_add_up_over_the_allowed_cpus_only() {
    let stat = "cpu  10 0 20 900 40 0 0 0 0 0\n\
                cpu0 5 0 10 500 30 0 0 0 0 0\n\
                cpu1 5 0 10 400 10 0 0 0 0 0\n\
                intr 1 2 3\n";
    assert_eq!(parse_idle_ticks(stat, &[0, 1]), Some(940));
    assert_eq!(parse_idle_ticks(stat, &[1]), Some(410));
    assert_eq!(parse_idle_ticks(stat, &[7]), None);
    assert_eq!(parse_idle_ticks("cpu0 1 2\n", &[0]), None, "truncated line");
    assert_eq!(parse_idle_ticks("", &[0]), None);
}

#[test]
fn a_lopsided_pool_evens_out_only_when_a_cpu_is_idle() {
    let t0 = Instant::now();
    let mut p = Policy::new(2, 2);
    // The kernel gave worker 1 every connection; the other CPU runs the
    // load generator: evening out would only crowd it.
    let d = p.decide(&sample(&[0.0, 0.99], &[0.0, 0.0], 0.0), t0);
    assert_eq!((d.active, d.even_out), (2, false));
    // A remote client: the other CPU is idle.
    let lopsided = sample(&[0.0, 0.99], &[0.0, 0.0], 0.95);
    let d = p.decide(&lopsided, t0);
    assert_eq!((d.active, d.even_out), (2, true));
    // Then it holds, to see what that did.
    assert!(!p.decide(&lopsided, t0 + HOLD / 2).even_out);
    assert!(p.decide(&lopsided, t0 + HOLD).even_out);
}
