//! Reading a directory's entries, and their order: natural by name
//! (`file-2` before `file-10`), or by size or modification time, with
//! directories always first.

use std::cmp::Ordering;
use std::fs::File;
use std::io;
use std::os::fd::AsRawFd;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::MetadataExt;

use super::sort::{Key, Order, Sort};

/// One directory entry, as listed.
pub(super) struct Entry {
    /// The raw file name: not necessarily UTF-8.
    pub name: Vec<u8>,
    pub is_dir: bool,
    pub size: u64,
    /// Seconds since the epoch; times before it count as the epoch.
    pub modified: u64,
}

impl Entry {
    pub(super) fn display_name(&self) -> String {
        String::from_utf8_lossy(&self.name).into_owned()
    }
}

/// Reads the open directory `dir` through its descriptor
/// (`/proc/self/fd`), so it is the directory that was checked, not
/// whatever its path names by now; dotfiles only with `show_hidden`.
/// Sorted as `sort` says.
pub(super) fn read(dir: &File, show_hidden: bool, order: Sort) -> io::Result<Vec<Entry>> {
    let mut entries = Vec::new();
    for entry in std::fs::read_dir(format!("/proc/self/fd/{}", dir.as_raw_fd()))? {
        let entry = entry?;
        let name = entry.file_name().as_bytes().to_vec();
        if !show_hidden && name.starts_with(b".") {
            continue;
        }
        let meta = entry.metadata()?;
        entries.push(Entry {
            name,
            is_dir: meta.is_dir(),
            size: meta.size(),
            modified: u64::try_from(meta.mtime()).unwrap_or(0),
        });
    }
    sort(&mut entries, order);
    Ok(entries)
}

/// Orders `entries`: directories first whatever the key and order (as
/// file managers do, so the way down stays at the top), then by the key
/// in the requested order, ties by name ascending. A directory's size is
/// its inode's, not its contents', so directories count as equal in size
/// and sort by name under `sort=size`.
pub(super) fn sort(entries: &mut [Entry], sort: Sort) {
    entries.sort_by(|a, b| {
        let by_key = match sort.key {
            Key::Name => Ordering::Equal,
            Key::Size if a.is_dir && b.is_dir => Ordering::Equal,
            Key::Size => a.size.cmp(&b.size),
            Key::Modified => a.modified.cmp(&b.modified),
        };
        let by_key = by_key.then_with(|| match sort.key {
            Key::Name => natural(&a.name, &b.name),
            _ => Ordering::Equal,
        });
        let by_key = match sort.order {
            Order::Asc => by_key,
            Order::Desc => by_key.reverse(),
        };
        b.is_dir
            .cmp(&a.is_dir)
            .then(by_key)
            .then_with(|| natural(&a.name, &b.name))
    });
}

/// Natural order of two names: runs of ASCII digits compare by their
/// value, other bytes one by one with ASCII case ignored. Names equal so
/// far (`a10` and `a010`, `File` and `file`) fall back to plain byte
/// order, so the order is total and the same on every request.
pub(super) fn natural(a: &[u8], b: &[u8]) -> Ordering {
    tokens(a).cmp(tokens(b)).then_with(|| a.cmp(b))
}

/// A piece of a name in natural order: a run of digits (without its
/// leading zeros) or one other byte, lowercased.
#[derive(PartialEq, Eq)]
enum Token<'a> {
    Number(&'a [u8]),
    Byte(u8),
}

impl Token<'_> {
    /// Numbers sort where their digits would among bytes: after the bytes
    /// below `0`, before those above `9`. Keeping that place fixed is what
    /// makes the comparison of names consistent (transitive).
    fn rank(&self) -> (u8, u8) {
        match *self {
            Token::Byte(b) if b < b'0' => (0, b),
            Token::Number(_) => (1, 0),
            Token::Byte(b) => (2, b),
        }
    }
}

impl Ord for Token<'_> {
    fn cmp(&self, other: &Self) -> Ordering {
        match (self, other) {
            // No leading zeros, so the longer run is the larger number.
            (Token::Number(a), Token::Number(b)) => a.len().cmp(&b.len()).then_with(|| a.cmp(b)),
            _ => self.rank().cmp(&other.rank()),
        }
    }
}

impl PartialOrd for Token<'_> {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

fn tokens(name: &[u8]) -> impl Iterator<Item = Token<'_>> {
    let mut rest = name;
    std::iter::from_fn(move || {
        let first = *rest.first()?;
        if !first.is_ascii_digit() {
            rest = &rest[1..];
            return Some(Token::Byte(first.to_ascii_lowercase()));
        }
        let digits = rest
            .iter()
            .position(|b| !b.is_ascii_digit())
            .unwrap_or(rest.len());
        let (run, after) = rest.split_at(digits);
        rest = after;
        let zeros = run.iter().take_while(|&&b| b == b'0').count();
        Some(Token::Number(&run[zeros..]))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sorted(names: &[&[u8]]) -> Vec<Vec<u8>> {
        let mut names: Vec<Vec<u8>> = names.iter().map(|n| n.to_vec()).collect();
        names.sort_by(|a, b| natural(a, b));
        names
    }

    fn strings(names: &[Vec<u8>]) -> Vec<String> {
        names
            .iter()
            .map(|n| String::from_utf8_lossy(n).into_owned())
            .collect()
    }

    #[test]
    fn digits_compare_by_value() {
        let names = sorted(&[b"file-10", b"file-2", b"file-1", b"file-100", b"file-"]);
        assert_eq!(
            strings(&names),
            ["file-", "file-1", "file-2", "file-10", "file-100"]
        );
        let names = sorted(&[b"a10", b"a010", b"a9"]);
        assert_eq!(strings(&names), ["a9", "a010", "a10"], "ties by bytes");
        let names = sorted(&[b"v1.10.0", b"v1.9.2", b"v1.9.10"]);
        assert_eq!(strings(&names), ["v1.9.2", "v1.9.10", "v1.10.0"]);
        let huge = sorted(&[
            b"x99999999999999999999999999",
            b"x100000000000000000000000000",
        ]);
        assert_eq!(huge[0], b"x99999999999999999999999999", "no overflow");
    }

    #[test]
    fn case_is_ignored_then_breaks_ties() {
        let names = sorted(&[b"banana", b"Apple", b"apple", b"Cherry"]);
        assert_eq!(strings(&names), ["Apple", "apple", "banana", "Cherry"]);
    }

    #[test]
    fn order_is_total_and_consistent() {
        let names: [&[u8]; 12] = [
            b"a", b"a-", b"a1", b"a01", b"aB", b"ab", b"a_", b"a.1", b"a~", b"1", b"", b"\xff",
        ];
        for x in names {
            assert_eq!(natural(x, x), Ordering::Equal);
            for y in names {
                assert_eq!(natural(x, y), natural(y, x).reverse());
                if x != y {
                    assert_ne!(natural(x, y), Ordering::Equal, "{x:?} {y:?}");
                }
                for z in names {
                    if natural(x, y).is_lt() && natural(y, z).is_lt() {
                        assert!(natural(x, z).is_lt(), "{x:?} {y:?} {z:?}");
                    }
                }
            }
        }
    }

    #[test]
    fn non_utf8_names_do_not_panic() {
        let names = sorted(&[
            b"\xff\xfe9",
            b"\xff\xfe10",
            b"\x80",
            b"caf\xc3\xa9",
            b"0\xff",
        ]);
        assert_eq!(names.len(), 5);
        let nine = names.iter().position(|n| n == b"\xff\xfe9").unwrap();
        let ten = names.iter().position(|n| n == b"\xff\xfe10").unwrap();
        assert!(nine < ten);
    }

    fn entry(name: &str, is_dir: bool, size: u64, modified: u64) -> Entry {
        Entry {
            name: name.as_bytes().to_vec(),
            is_dir,
            size,
            modified,
        }
    }

    fn listed(sort_by: Key, order: Order) -> Vec<String> {
        let mut entries = vec![
            entry("file-10", false, 5, 300),
            entry("dir-2", true, 4096, 100),
            entry("file-2", false, 50, 100),
            entry("dir-10", true, 8192, 200),
            entry("big", false, 500, 200),
            entry("same", false, 50, 50),
        ];
        sort(
            &mut entries,
            Sort {
                key: sort_by,
                order,
            },
        );
        entries.iter().map(Entry::display_name).collect()
    }

    #[test]
    fn directories_come_first_in_every_sort() {
        assert_eq!(
            listed(Key::Name, Order::Asc),
            ["dir-2", "dir-10", "big", "file-2", "file-10", "same"]
        );
        assert_eq!(
            listed(Key::Name, Order::Desc),
            ["dir-10", "dir-2", "same", "file-10", "file-2", "big"]
        );
        assert_eq!(
            listed(Key::Size, Order::Asc),
            ["dir-2", "dir-10", "file-10", "file-2", "same", "big"],
            "directories by name, equal sizes by name"
        );
        assert_eq!(
            listed(Key::Size, Order::Desc),
            ["dir-2", "dir-10", "big", "file-2", "same", "file-10"],
            "ties stay by name ascending"
        );
        assert_eq!(
            listed(Key::Modified, Order::Asc),
            ["dir-2", "dir-10", "same", "file-2", "big", "file-10"]
        );
        assert_eq!(
            listed(Key::Modified, Order::Desc),
            ["dir-10", "dir-2", "file-10", "big", "file-2", "same"]
        );
    }
}
