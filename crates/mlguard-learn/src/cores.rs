//! Work spread over the machine's cores.

/// `items` mapped by `f` on every core (items dealt round-robin), results in item order.
pub(crate) fn map_on_cores<T: Send, U: Send>(items: Vec<T>, f: impl Fn(T) -> U + Sync) -> Vec<U> {
    let cores =
        std::thread::available_parallelism().map_or(1, usize::from).clamp(1, items.len().max(1));
    let mut hands: Vec<Vec<(usize, T)>> = (0..cores).map(|_| Vec::new()).collect();
    for (i, item) in items.into_iter().enumerate() {
        hands[i % cores].push((i, item));
    }
    let f = &f;
    let mut done: Vec<(usize, U)> = std::thread::scope(|s| {
        let mut hands = hands.into_iter();
        let mine = hands.next().unwrap_or_default();
        let others: Vec<_> = hands
            .map(|hand| {
                s.spawn(move || hand.into_iter().map(|(i, t)| (i, f(t))).collect::<Vec<_>>())
            })
            .collect();
        let mut done: Vec<(usize, U)> = mine.into_iter().map(|(i, t)| (i, f(t))).collect();
        for h in others {
            match h.join() {
                Ok(part) => done.extend(part),
                Err(panic) => std::panic::resume_unwind(panic),
            }
        }
        done
    });
    done.sort_by_key(|(i, _)| *i);
    done.into_iter().map(|(_, u)| u).collect()
}
