import type { CredentialRecord } from './records.ts';

/**
 * NVCF's caches of registry credentials, as the `aws` profile models them (`packages/sandbox/README.md`,
 * "Profiles"): every state a credential had, with when it began, so that a read can be answered with the state
 * of a moment in the past. NVCF caches per API pod and invalidates only on the pod that took the write
 * (NVIDIA/nvcf `RegistryCredentialLookupService`, `RegistryCredentialEssService`), so a client may read an
 * older state than the one its own write returned; the sandbox answers with the oldest one inside the window.
 */

interface Entry {
  /** Virtual time this state began. */
  readonly fromMs: number;
  /** The credential's state from then, or undefined once deleted. */
  readonly record: CredentialRecord | undefined;
}

export class CredentialJournal {
  #entries = new Map<string, Entry[]>();

  /** Records the state `record` (or the deletion of `id`) at `atMs`. */
  record(id: string, atMs: number, record: CredentialRecord | undefined): void {
    const list = this.#entries.get(id) ?? [];
    list.push({ fromMs: atMs, record: record ? structuredClone(record) : undefined });
    this.#entries.set(id, list);
  }

  /** Each credential as it stood at `atMs` (deleted and not-yet-created ones left out). */
  asOf(atMs: number): CredentialRecord[] {
    const out: CredentialRecord[] = [];
    for (const list of this.#entries.values()) {
      const at = stateAt(list, atMs);
      if (at?.record) out.push(at.record);
    }
    return out;
  }

  /** One credential at `atMs`: undefined when it did not exist then. */
  oneAsOf(id: string, atMs: number): CredentialRecord | undefined {
    const list = this.#entries.get(id);
    return list ? stateAt(list, atMs)?.record : undefined;
  }

  /**
   * The oldest state of `id` inside the window `[sinceMs, now]`: the state in force at `sinceMs`, or — for a
   * credential created inside the window — its first state.
   */
  oldestSince(id: string, sinceMs: number): CredentialRecord | undefined {
    const list = this.#entries.get(id);
    if (!list) return undefined;
    return stateAt(list, sinceMs)?.record ?? list.find((e) => e.fromMs > sinceMs && e.record)?.record;
  }

  /** Forgets states that ended before `beforeMs` (nothing can read them any more). */
  prune(beforeMs: number): void {
    for (const [id, list] of this.#entries) {
      let first = 0;
      while (first + 1 < list.length && (list[first + 1]?.fromMs ?? Infinity) <= beforeMs) first++;
      // The oldest kept state stands for those dropped (a window raised later reads it, not "absent").
      const kept = list.slice(first);
      if (first > 0 && kept[0]) kept[0] = { ...kept[0], fromMs: list[0]?.fromMs ?? kept[0].fromMs };
      const only = kept.length === 1 ? kept[0] : undefined;
      if (only && only.record === undefined && only.fromMs <= beforeMs) this.#entries.delete(id);
      else this.#entries.set(id, kept);
    }
  }

  clear(): void {
    this.#entries = new Map();
  }
}

function stateAt(list: readonly Entry[], atMs: number): Entry | undefined {
  let found: Entry | undefined;
  for (const e of list) {
    if (e.fromMs > atMs) break;
    found = e;
  }
  return found;
}
