/* ---
id: is_sensitive_host_path
parameters: [path]
description: >-
  Whether a hostPath volume's path gives a container the node: its credentials, its container runtime or a way
  to run code as root on it. The path is judged after collapsing repeated slashes, `/./` and a trailing slash;
  a `..` segment counts as sensitive (it cannot be resolved without the node). Sensitive: the directories that
  contain all of the below (/, /etc, /var, /var/lib, /run, /var/run, /usr, /bin, /sbin, /lib, /lib64, /boot,
  /dev, /proc, /sys, /root, /home) themselves; anything under /proc, /root and /home; block and memory devices
  (/dev/mem, /dev/sd*, /dev/nvme* ...); container runtime sockets and state (docker, containerd, CRI-O,
  cri-dockerd); kubelet state (/var/lib/kubelet: its client certificate and every pod's secrets and tokens)
  except the device-plugin and plugin-registration sockets and a CSI driver's own socket folder, which plugins
  mount by design; control-plane and distribution state (/etc/kubernetes, /var/lib/etcd, /var/lib/kube-proxy,
  /etc/rancher, /var/lib/rancher); host credentials and persistence points (/etc/shadow, /etc/passwd,
  /etc/sudoers(.d), /etc/ssh, /etc/crontab, /etc/cron.*, /var/spool/cron, /etc/systemd). Not sensitive
  (reported at low severity by hostpath-mount-other): log folders (/var/log, read by every log shipper),
  certificates (/etc/ssl, /etc/pki), time zone files, CNI folders (/etc/cni, /opt/cni) and any other path.
--- */
CASE
    WHEN path IS NULL THEN NULL
    WHEN regexp_matches(path, '(^|/)\.\.(/|$)') THEN true
    ELSE regexp_full_match(
            coalesce(nullif(rtrim(regexp_replace(regexp_replace(path, '/+', '/', 'g'), '/(\./)+|/\.$', '/', 'g'), '/'), ''), '/'),
            '/|/boot|/dev|/etc|/home|/proc|/root|/run|/sys|/usr|/bin|/sbin|/lib|/lib64|/var|/var/run|/var/lib'
            || '|(/proc|/root|/home)/.+'
            || '|/dev/(mem|kmem|port|sd[a-z]+[0-9]*|nvme[0-9].*|xvd[a-z]+[0-9]*|vd[a-z]+[0-9]*|hd[a-z]+[0-9]*|dm-[0-9]+|mapper(/.*)?|disk(/.*)?)'
            || '|(/var/run/docker\.sock|/run/docker\.sock|/var/run/docker|/run/docker|/var/run/containerd|/run/containerd'
            || '|/var/run/crio|/run/crio|/var/run/cri-dockerd\.sock|/run/cri-dockerd\.sock|/var/lib/docker'
            || '|/var/lib/containerd|/var/lib/containers|/var/lib/kubelet|/etc/kubernetes|/var/lib/etcd'
            || '|/var/lib/kube-proxy|/etc/rancher|/var/lib/rancher|/etc/shadow|/etc/passwd|/etc/sudoers|/etc/sudoers\.d'
            || '|/etc/ssh|/etc/crontab|/etc/cron\.[a-z]+|/var/spool/cron|/etc/systemd)(/.*)?')
        AND NOT regexp_full_match(
            rtrim(regexp_replace(path, '/+', '/', 'g'), '/'),
            '/var/lib/kubelet/(device-plugins|plugins_registry|plugins/[^/]+)(/.*)?')
END
