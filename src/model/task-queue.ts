/** The task queue every kafka-dr playbook and its activities run on. */
export const TASK_QUEUE = 'kafka-dr';
