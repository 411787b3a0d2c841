/**
 * RFC 2782 "Usage rules": the order in which the targets of an SRV RRset are contacted.
 *
 * Conformance: priorities ascending; within a priority, the weighted random selection of RFC 2782
 * run until every record is ordered, with weight-0 records placed first so that they are chosen
 * only when the random number is 0 (a small chance, 1 in sum+1, when others weigh more). The
 * "any order" the RFC allows before that placement is a random shuffle, so records that all
 * weigh 0 share the load evenly. The random source is injected ([0,1), seeded in tests).
 */

export interface SrvLike {
  priority: number;
  weight: number;
}

/** The records in the order RFC 2782 says to try them (a new array; the input is not changed). */
export function orderSrv<T extends SrvLike>(records: readonly T[], random: () => number): T[] {
  // RFC 2782: "A client MUST attempt to contact the target host with the lowest-numbered priority
  // it can reach; target hosts with the same priority SHOULD be tried in an order defined by the
  // weight field."
  const sorted = [...records].sort((a, b) => a.priority - b.priority);
  const out: T[] = [];
  for (let i = 0; i < sorted.length;) {
    let j = i + 1;
    while (j < sorted.length && sorted[j].priority === sorted[i].priority) j++;
    orderByWeight(sorted.slice(i, j), random, out);
    i = j;
  }
  return out;
}

function pickIndex(random: () => number, bound: number): number {
  const r = random();
  const v = Math.floor((r >= 0 && r < 1 ? r : 0) * bound);
  return v < bound ? v : bound - 1;
}

function orderByWeight<T extends SrvLike>(group: T[], random: () => number, out: T[]): void {
  if (group.length === 1) {
    out.push(group[0]);
    return;
  }
  // "arrange all SRV RRs (that have not been ordered yet) in any order, except that all those
  // with weight 0 are placed at the beginning of the list."
  for (let k = group.length - 1; k > 0; k--) {
    const m = pickIndex(random, k + 1);
    const t = group[k];
    group[k] = group[m];
    group[m] = t;
  }
  const pool = [...group.filter((r) => r.weight === 0), ...group.filter((r) => r.weight !== 0)];
  while (pool.length > 0) {
    // "Compute the sum of the weights of those RRs, and with each RR associate the running sum in
    // the selected order. Then choose a uniform random number between 0 and the sum computed
    // (inclusive), and select the RR whose running sum value is the first in the selected order
    // which is greater than or equal to the random number selected."
    let sum = 0;
    for (const r of pool) sum += r.weight;
    const chosen = pickIndex(random, sum + 1);
    let running = 0;
    let k = 0;
    for (; k < pool.length - 1; k++) {
      running += pool[k].weight;
      if (running >= chosen) break;
    }
    out.push(pool[k]);
    // "Remove this SRV RR from the set of the unordered SRV RRs and apply the described
    // algorithm to the unordered SRV RRs to select the next target host."
    pool.splice(k, 1);
  }
}
