/**
 * Hardened security contexts (Pod Security Standard "restricted"): non-root, no privilege
 * escalation, no capabilities, RuntimeDefault seccomp, read-only root filesystem. Everything a
 * container writes goes to a mounted volume (the data PVC, an emptyDir for /tmp).
 */
import type { V1PodSecurityContext, V1SecurityContext } from '@kubernetes/client-node';

/** An unprivileged id outside the range of common image users (as CloudNativePG does). */
export const NODE_UID = 10001;

export function podSecurityContext(): V1PodSecurityContext {
  return {
    runAsNonRoot: true,
    runAsUser: NODE_UID,
    runAsGroup: NODE_UID,
    // Makes the volume group-writable for both containers; skipping the recursive chown when
    // the volume root already matches keeps restarts on large volumes fast.
    fsGroup: NODE_UID,
    fsGroupChangePolicy: 'OnRootMismatch',
    seccompProfile: { type: 'RuntimeDefault' },
  };
}

export function containerSecurityContext(): V1SecurityContext {
  return {
    runAsNonRoot: true,
    allowPrivilegeEscalation: false,
    privileged: false,
    readOnlyRootFilesystem: true,
    capabilities: { drop: ['ALL'] },
    seccompProfile: { type: 'RuntimeDefault' },
  };
}
