//! The event counters every driver of this crate keeps: plain numbers outside
//! driver memory (reading them never touches a driver), and a snapshot type
//! for tests and summaries.

/// Defines `Counters` (one `AtomicU64` per name, `pub(crate)`) and
/// `CounterSnapshot` (the same names as `u64`, public) in the invoking
/// module, with `Counters::snapshot` and `Counters::inc`.
///
/// ```ignore
/// counters! {
///     /// Event counters of one instance of the driver.
///     struct Counters;
///     /// Successful probes.
///     probes,
/// }
/// ```
macro_rules! counters {
    (
        $(#[$sm:meta])* struct Counters;
        $($(#[$m:meta])* $name:ident),* $(,)?
    ) => {
        $(#[$sm])*
        #[derive(Debug, Default)]
        pub struct Counters { $($(#[$m])* pub(crate) $name: ::std::sync::atomic::AtomicU64,)* }

        /// A snapshot of [`Counters`].
        #[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
        pub struct CounterSnapshot { $($(#[$m])* pub $name: u64,)* }

        impl Counters {
            /// The values now.
            pub fn snapshot(&self) -> CounterSnapshot {
                CounterSnapshot {
                    $($name: self.$name.load(::std::sync::atomic::Ordering::SeqCst),)*
                }
            }

            /// Counts one event on `c` (one of this instance's counters).
            pub(crate) fn inc(c: &::std::sync::atomic::AtomicU64) {
                c.fetch_add(1, ::std::sync::atomic::Ordering::SeqCst);
            }
        }
    };
}

pub(crate) use counters;
