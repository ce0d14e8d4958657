//! Which file systems are shared with other hosts: the one table the lock protocol consults.
//!
//! On a network file system a kernel lock taken by one client is not seen by another (sshfs and
//! other FUSE file systems keep `flock` local to the client; SMB and 9p do as they please), inode
//! numbers are the client's (sshfs numbers nodes per path, so a file `link`ed to a second name gets
//! a second number) and a process id names a process on some other machine. The lock protocol
//! therefore, on these file systems only: identifies its own lock file by the record's nonce
//! instead of the inode number, does not take a free kernel lock as proof that a holder on the
//! same boot died (it checks the pid), and never judges a record by the file's mtime against this
//! machine's boot time.
//!
//! The bindings report what the OS says (Linux `statfs.f_type`, BSD and macOS
//! `statfs.f_fstypename`); the decision is made here.

/// Linux `statfs.f_type` magic numbers of file systems whose content other hosts may change:
/// NFS, SMB (smbfs, cifs, smb2), 9p, FUSE (sshfs, rclone, s3fs...: treated as remote, since FUSE
/// cannot tell), AFS, Coda, Ceph, Lustre, GFS2, OCFS2, GPFS, CernVM-FS is FUSE.
const LINUX_NETWORK_MAGIC: &[u64] = &[
    0x6969,      // NFS_SUPER_MAGIC
    0x517b,      // SMB_SUPER_MAGIC
    0xff53_4d42, // CIFS_MAGIC_NUMBER
    0xfe53_4d42, // SMB2_MAGIC_NUMBER
    0x0102_1997, // V9FS_MAGIC
    0x6573_5546, // FUSE_SUPER_MAGIC
    0x5346_414f, // AFS_SUPER_MAGIC (kAFS)
    0x6b41_4653, // AFS_FS_MAGIC
    0x7375_7245, // CODA_SUPER_MAGIC
    0x00c3_6400, // CEPH_SUPER_MAGIC
    0x0bd0_0bd0, // LL_SUPER_MAGIC (Lustre)
    0x0116_1970, // GFS2_MAGIC
    0x7461_636f, // OCFS2_SUPER_MAGIC
    0x4750_4653, // GPFS_SUPER_MAGIC
];

/// BSD / macOS `f_fstypename` values of network file systems.
const NETWORK_TYPE_NAMES: &[&str] = &["nfs", "smbfs", "afpfs", "webdav", "cifs", "osxfuse", "macfuse", "fusefs", "fuse", "9p"];

/// Whether a Linux `statfs.f_type` names a file system shared with other hosts.
pub fn is_network_magic(f_type: u64) -> bool {
    // f_type is a signed long on some targets: compare the low 32 bits, where every magic lives.
    LINUX_NETWORK_MAGIC.contains(&(f_type & 0xffff_ffff))
}

/// Whether a BSD / macOS `statfs.f_fstypename` names a file system shared with other hosts
/// (`fusefs.sshfs` and other `fuse*` subtypes included).
pub fn is_network_type_name(name: &str) -> bool {
    let base = name.split('.').next().unwrap_or(name);
    NETWORK_TYPE_NAMES.contains(&base) || base.starts_with("fuse") || base.ends_with("fuse")
}

/// Whether a Windows path names a share on another machine (`\\server\share\...` or
/// `\\?\UNC\server\share\...`; device paths `\\.\` and `\\?\C:` are local).
pub fn is_unc_path(path: &str) -> bool {
    let p = path.replace('/', "\\");
    if let Some(rest) = p.strip_prefix("\\\\?\\") {
        return rest.len() >= 4 && rest[..4].eq_ignore_ascii_case("UNC\\");
    }
    p.starts_with("\\\\") && !p.starts_with("\\\\.\\")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn linux_magic() {
        assert!(is_network_magic(0x6573_5546)); // fuse (sshfs)
        assert!(is_network_magic(0x6969));
        assert!(is_network_magic(0xffff_ffff_ff53_4d42)); // sign-extended cifs
        assert!(!is_network_magic(0xef53)); // ext4
        assert!(!is_network_magic(0x0102_1994)); // tmpfs
        assert!(!is_network_magic(0x5846_5342)); // xfs
    }

    #[test]
    fn bsd_names() {
        assert!(is_network_type_name("nfs"));
        assert!(is_network_type_name("smbfs"));
        assert!(is_network_type_name("macfuse"));
        assert!(is_network_type_name("fusefs.sshfs"));
        assert!(!is_network_type_name("apfs"));
        assert!(!is_network_type_name("ufs"));
        assert!(!is_network_type_name("zfs"));
    }

    #[test]
    fn unc() {
        assert!(is_unc_path(r"\\server\share\reg.json"));
        assert!(is_unc_path(r"\\?\UNC\server\share\reg.json"));
        assert!(is_unc_path("//server/share/reg.json"));
        assert!(!is_unc_path(r"\\?\C:\reg.json"));
        assert!(!is_unc_path(r"\\.\pipe\x"));
        assert!(!is_unc_path(r"C:\reg.json"));
    }
}
