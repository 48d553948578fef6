//! The `?sort=` and `?order=` query of a listing.

/// The column a listing is sorted by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub(crate) enum Key {
    #[default]
    Name,
    Size,
    Modified,
}

/// Ascending or descending.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub(crate) enum Order {
    #[default]
    Asc,
    Desc,
}

/// How a listing is ordered: by `key` in `order`, directories always
/// first (see `entries::sort`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub(crate) struct Sort {
    pub key: Key,
    pub order: Order,
}

impl Key {
    pub(crate) const ALL: [Key; 3] = [Key::Name, Key::Size, Key::Modified];

    fn parse(value: &str) -> Option<Key> {
        match value {
            "name" => Some(Key::Name),
            "size" => Some(Key::Size),
            "modified" => Some(Key::Modified),
            _ => None,
        }
    }

    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Key::Name => "name",
            Key::Size => "size",
            Key::Modified => "modified",
        }
    }
}

impl Order {
    fn parse(value: &str) -> Option<Order> {
        match value {
            "asc" => Some(Order::Asc),
            "desc" => Some(Order::Desc),
            _ => None,
        }
    }

    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Order::Asc => "asc",
            Order::Desc => "desc",
        }
    }

    pub(crate) fn flipped(self) -> Order {
        match self {
            Order::Asc => Order::Desc,
            Order::Desc => Order::Asc,
        }
    }
}

impl Sort {
    /// Reads `sort` and `order` from a raw query string (with or without
    /// its leading `?`). A listing is a page people bookmark and type, so
    /// anything not understood (unknown parameters, unknown values, pairs
    /// without `=`, stray `&`) is ignored rather than refused: each of the
    /// two falls back to its default, and the last valid value wins.
    pub(crate) fn from_query(query: &str) -> Sort {
        let mut sort = Sort::default();
        let query = query.strip_prefix('?').unwrap_or(query);
        for pair in query.split('&') {
            let Some((name, value)) = pair.split_once('=') else {
                continue;
            };
            match name {
                "sort" => sort.key = Key::parse(value).unwrap_or(sort.key),
                "order" => sort.order = Order::parse(value).unwrap_or(sort.order),
                _ => {}
            }
        }
        sort
    }

    /// The query that asks for this sort, as it goes in a link (not yet
    /// HTML-escaped).
    pub(crate) fn query(self) -> String {
        format!("?sort={}&order={}", self.key.as_str(), self.order.as_str())
    }

    /// Where the head of column `key` leads: the current column flips
    /// the order, another column starts ascending.
    pub(crate) fn toggled(self, key: Key) -> Sort {
        let order = if key == self.key {
            self.order.flipped()
        } else {
            Order::Asc
        };
        Sort { key, order }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sort(key: Key, order: Order) -> Sort {
        Sort { key, order }
    }

    #[test]
    fn defaults_to_name_ascending() {
        for query in ["", "?", "?x=1", "?sort=", "?order=", "?&&&", "?=", "?=="] {
            assert_eq!(Sort::from_query(query), Sort::default(), "{query:?}");
        }
        assert_eq!(Sort::default(), sort(Key::Name, Order::Asc));
    }

    #[test]
    fn reads_sort_and_order() {
        assert_eq!(
            Sort::from_query("?sort=size&order=desc"),
            sort(Key::Size, Order::Desc)
        );
        assert_eq!(
            Sort::from_query("?order=desc&sort=modified"),
            sort(Key::Modified, Order::Desc)
        );
        assert_eq!(Sort::from_query("sort=size"), sort(Key::Size, Order::Asc));
        assert_eq!(
            Sort::from_query("?page=2&sort=size&utm=x"),
            sort(Key::Size, Order::Asc)
        );
    }

    #[test]
    fn unknown_values_fall_back_each_on_its_own() {
        assert_eq!(
            Sort::from_query("?sort=bogus&order=desc"),
            sort(Key::Name, Order::Desc)
        );
        assert_eq!(
            Sort::from_query("?sort=size&order=sideways"),
            sort(Key::Size, Order::Asc)
        );
        assert_eq!(Sort::from_query("?sort=SIZE"), Sort::default());
        assert_eq!(Sort::from_query("?sort=size=1"), Sort::default());
        assert_eq!(
            Sort::from_query("?sort=size&sort=bogus"),
            sort(Key::Size, Order::Asc),
            "an invalid later value does not undo a valid one"
        );
        assert_eq!(
            Sort::from_query("?sort=size&sort=modified"),
            sort(Key::Modified, Order::Asc),
            "the last valid value wins"
        );
    }

    #[test]
    fn garbage_never_panics() {
        let long = "&sort=".repeat(10_000);
        for query in [
            "?%",
            "?sort=%zz",
            "?sort=\u{e9}&order=\u{1f600}",
            "??sort=size",
            "?sort&order",
            "?;sort=size",
            long.as_str(),
        ] {
            let _ = Sort::from_query(query);
        }
        assert_eq!(Sort::from_query("??sort=size"), Sort::default());
    }

    #[test]
    fn links_round_trip_and_toggle() {
        for key in Key::ALL {
            for order in [Order::Asc, Order::Desc] {
                let s = sort(key, order);
                assert_eq!(Sort::from_query(&s.query()), s);
            }
        }
        let current = sort(Key::Size, Order::Asc);
        assert_eq!(current.toggled(Key::Size), sort(Key::Size, Order::Desc));
        assert_eq!(
            current.toggled(Key::Size).toggled(Key::Size),
            current,
            "clicking twice comes back"
        );
        assert_eq!(current.toggled(Key::Name), sort(Key::Name, Order::Asc));
    }
}
