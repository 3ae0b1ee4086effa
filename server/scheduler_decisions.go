package server

// Decisions of the schedule service where semantics.md is silent. Tests in
// schedule_*_test.go pin each of them.
//
//   - Pause: a paused schedule leaves the due set; nominal times that pass
//     while it is paused are neither run nor recorded. Unpause recomputes
//     the next time from now, so the paused period is not caught up (use
//     BackfillSchedule for that). Describe still shows the next 10 times.
//   - Buffered fires (BUFFER_ONE, BUFFER_ALL, CANCEL_OTHER) start when the
//     schedule has no open run, from the run store's Closed event or from
//     the next fire, whichever comes first; not while the schedule is
//     paused. CANCEL_OTHER requests a cooperative cancel and buffers the
//     new fire behind the canceled run; TERMINATE_OTHER terminates and
//     starts at once.
//   - Open runs are re-checked with the run store (Status) before an
//     overlap decision, so a lost or early Closed event cannot block a
//     schedule forever.
//   - Manual triggers use the workflow id "<base>-<now RFC 3339>-manual-<n>",
//     n a per-schedule counter: two triggers in one second both start, and
//     a trigger never collides with a scheduled fire of the same second.
//   - Backfill uses the scheduled workflow ids, so a nominal time that
//     already ran (scheduled or backfilled) is found, not run again. One
//     request takes at most maxBackfillTimes (10,000) nominal times from at
//     most 100 ranges; it ignores pause, the catchup window and remaining
//     actions.
//   - Remaining actions count scheduled starts only, including scheduled
//     fires started later from the buffer.
//   - A start the run store rejects as invalid or as a duplicate id of
//     another origin is a FAILED execution record; any other error leaves
//     the fire claimed, and it is retried when the claim's lease ends.
//   - An execution record's actual time is when the run store accepted the
//     start (the enqueue time). Records are kept per schedule (the latest
//     100 nominal times) and per namespace (10,000 per partition).
//   - ListSchedules orders by (partition, id), which is stable under
//     concurrent creates; a page may hold fewer entries than asked when a
//     filter rejects many (the token continues the scan).
//   - Catchup: a claim processes at most 100 nominal times of one schedule;
//     a schedule further behind continues in the next pass at once.
//   - The loop claims fires up to claimAhead (300 ms) before their due time
//     and reads their schedules then; the start happens at the due time.
//     An update that lands in those 300 ms does not stop a fire claimed
//     under the old definition when the claimer read it before the update.
//   - An update (new definition or next time) that lands while a fire is
//     claimed and after its nominal time does not drop that fire: the
//     claim's commit, or the replica that takes over an expired claim,
//     fires it under the current definition with the workflow id the
//     claimer used, even if the update changed the base workflow id (so a
//     run the dead claimer started is found, not doubled). When the
//     update paused the schedule, the fire is dropped like any while paused.
//   - CANCEL_OTHER and TERMINATE_OTHER treat a run that closed (or
//     vanished) before the cancel as gone: with no run left open the new
//     fire starts at once.
//   - Metrics: sundial_schedule_fires_total counts every execution record
//     the scheduler commits, by outcome; the lag histogram observes fires
//     started at their due time (due = nominal + jitter), not buffered ones.
