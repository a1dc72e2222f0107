// What a cgroup v2 path says about the service behind a flow: its systemd unit, its container and its Kubernetes
// pod, where the path shows them. Pure: the path in, the facts out.

export type QosClass = 'guaranteed' | 'burstable' | 'besteffort';

export interface CgroupFacts {
  /** The innermost systemd unit: `nginx.service`, `session-3.scope`, `docker-<id>.scope`. */
  unit?: string;
  /** The container runtime, when the path names it: docker, containerd, cri-o, podman. */
  runtime?: string;
  /** The container's id. */
  container?: string;
  /** The Kubernetes pod's UID, with dashes. */
  pod?: string;
  qos?: QosClass;
}

const HEX64 = '[0-9a-f]{64}';
/** Container scopes of the systemd cgroup driver: the runtime by the scope's prefix. Conmon's scopes are not containers. */
const SCOPES: [RegExp, string][] = [
  [new RegExp(`^docker-(${HEX64})\\.scope$`), 'docker'],
  [new RegExp(`^cri-containerd-(${HEX64})\\.scope$`), 'containerd'],
  [new RegExp(`^crio-(${HEX64})\\.scope$`), 'cri-o'],
  [new RegExp(`^libpod-(${HEX64})\\.scope$`), 'podman'],
];
const BARE_ID = new RegExp(`^${HEX64}$`);
const UID = '[0-9a-f]{8}[-_][0-9a-f]{4}[-_][0-9a-f]{4}[-_][0-9a-f]{4}[-_][0-9a-f]{12}';
/** kubepods-burstable-pod<uid_with_underscores>.slice, kubepods-pod<uid>.slice (guaranteed). */
const POD_SLICE = new RegExp(`^kubepods(?:-(burstable|besteffort))?-pod(${UID})\\.slice$`);
/** /kubepods/burstable/pod<uid>/ of the cgroupfs driver. */
const POD_DIR = new RegExp(`^pod(${UID})$`);
const UNIT = /^[^/]+\.(?:service|scope)$/;

/** The facts a cgroup path (relative to the cgroup2 mount, starting with '/') shows; none for anything else. */
export function cgroupFacts(path: string): CgroupFacts {
  const out: CgroupFacts = {};
  if (!path.startsWith('/')) return out;
  const parts = path.split('/').filter((p) => p !== '');
  parts.forEach((part, i) => {
    if (UNIT.test(part)) out.unit = part;
    for (const [re, runtime] of SCOPES) {
      const m = re.exec(part);
      if (m) {
        out.runtime = runtime;
        out.container = m[1];
      }
    }
    if (BARE_ID.test(part)) {
      // /docker/<id> (docker's cgroupfs driver), /kubepods/<qos>/pod<uid>/<id> (runtime not named)
      if (parts[i - 1] === 'docker') out.runtime = 'docker';
      else delete out.runtime;
      out.container = part;
    }
    const slice = POD_SLICE.exec(part);
    if (slice) {
      out.pod = slice[2].replace(/_/g, '-');
      out.qos = (slice[1] as QosClass | undefined) ?? 'guaranteed';
    }
    const dir = POD_DIR.exec(part);
    if (dir && parts.slice(0, i).includes('kubepods')) {
      out.pod = dir[1].replace(/_/g, '-');
      const qos = parts[i - 1];
      out.qos = qos === 'burstable' || qos === 'besteffort' ? qos : 'guaranteed';
    }
  });
  return out;
}

/** A container as one text: `runtime://id` (the form Kubernetes shows), the id alone when the runtime is not named. */
export function containerText(f: CgroupFacts): string | undefined {
  if (f.container === undefined) return undefined;
  return f.runtime ? `${f.runtime}://${f.container}` : f.container;
}
